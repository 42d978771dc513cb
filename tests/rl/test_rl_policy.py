"""CoreRecurrentPolicy follows RecurrentPPO's conventions: packed (h, c) states, resets at episode starts,
padded sequences of its rollout buffer; CoreFeedForwardPolicy for the memory-less core."""

import numpy as np
import pytest
import torch
from rl_helpers import RECURRENT, SMALL, ShortEpisodes
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from ltc_drones.models import PolicyConfig, make_core
from ltc_drones.rl.policy import CoreFeedForwardPolicy, CoreRecurrentPolicy, pack_state, packed_size, unpack_state


def tiny_model(core: str, n_envs: int = 2, n_steps: int = 16):
    config = PolicyConfig(obs_kind="kin", obs_dim=3, action_dim=2, core=core,
                          core_config={} if core == "mlp" else SMALL, feature_dim=8, kin_hidden=(8,)).to_dict()
    venv = DummyVecEnv([ShortEpisodes for _ in range(n_envs)])
    venv.seed(3)
    algo, cls = (PPO, CoreFeedForwardPolicy) if core == "mlp" else (RecurrentPPO, CoreRecurrentPolicy)
    return algo(cls, venv, n_steps=n_steps, batch_size=8, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"policy_config": config, "dt_s": 0.1, "log_std_init": 0.0})


@pytest.mark.parametrize("size", [1, 2, 7, 64])
def test_packed_state_round_trip(size):
    state = torch.randn(3, size)
    h, c = pack_state(state, packed_size(size))
    assert h.shape == c.shape == (1, 3, (size + 1) // 2)
    assert torch.equal(unpack_state((h, c), size), state)


def test_lstm_core_state_packs_into_the_lstm_hidden_and_cell_state():
    core = make_core("lstm", 4, 2, units=5)
    x, state = torch.randn(3, 4), torch.randn(3, 10)
    _, after = core.step(x, state)
    _, (h, c) = core.rnn(x.unsqueeze(1), pack_state(state, packed_size(10)))  # an nn.LSTM fed the packed pair
    h2, c2 = pack_state(after, packed_size(10))
    assert torch.equal(h, h2) and torch.equal(c, c2)


@pytest.mark.parametrize("core", RECURRENT)
def test_rollout_buffer_sequences_reproduce_the_collected_log_probs_and_values(core):
    """The buffer cuts the rollout into sequences at episode starts and minibatch edges, stores the state at
    each sequence start and pads; evaluate_actions must give back what the policy computed step by step."""
    model = tiny_model(core)
    _, callback = model._setup_learn(32, None)
    callback.on_training_start(locals(), globals())
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    buffer = model.rollout_buffer
    assert buffer.episode_starts[1:].sum() >= 4  # resets inside the rollout, not only at its start
    differs_without_resets = False
    for batch in buffer.get(batch_size=8):
        mask = batch.mask > 0
        with torch.no_grad():
            values, log_prob, _ = model.policy.evaluate_actions(batch.observations, batch.actions, batch.lstm_states,
                                                                batch.episode_starts)
            _, log_prob_no_reset, _ = model.policy.evaluate_actions(
                batch.observations, batch.actions, batch.lstm_states, torch.zeros_like(batch.episode_starts))
        torch.testing.assert_close(log_prob[mask], batch.old_log_prob[mask], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(values.flatten()[mask], batch.old_values[mask], atol=1e-5, rtol=1e-5)
        differs_without_resets |= not torch.allclose(log_prob_no_reset[mask], batch.old_log_prob[mask], atol=1e-5)
    assert differs_without_resets  # the check above can see a missing reset


@pytest.mark.parametrize("core", RECURRENT)
def test_an_episode_start_resets_the_hidden_state(core):
    policy = tiny_model(core).policy
    rng = np.random.default_rng(0)
    state = None
    for _ in range(6):  # build up a state in both envs
        _, state = policy.predict(rng.uniform(-1, 1, (2, 3)).astype(np.float32), state, np.zeros(2, bool), True)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    fresh, _ = policy.predict(x, None, np.zeros(2, bool), deterministic=True)
    kept, _ = policy.predict(x, state, np.zeros(2, bool), deterministic=True)
    mixed, after = policy.predict(x, state, np.array([True, False]), deterministic=True)
    assert not np.array_equal(kept, fresh)  # the state matters ...
    np.testing.assert_array_equal(mixed[0], fresh[0])  # ... and a start flag clears it for that env only
    np.testing.assert_array_equal(mixed[1], kept[1])
    _, fresh_after = policy.predict(x, None, np.zeros(2, bool), deterministic=True)
    np.testing.assert_array_equal(after[0][:, 0], fresh_after[0][:, 0])


def test_feed_forward_policy_trains_with_ppo_and_its_deterministic_action_is_the_actor_output():
    model = tiny_model("mlp")
    before = {k: v.clone() for k, v in model.policy.actor.state_dict().items()}
    model.learn(32)
    assert any(not torch.equal(before[k], v) for k, v in model.policy.actor.state_dict().items())
    x = np.random.default_rng(1).uniform(-1, 1, (4, 3)).astype(np.float32)
    action, _ = model.policy.predict(x, deterministic=True)
    expected, _ = model.policy.actor.act(torch.as_tensor(x), None, dt=0.1)
    np.testing.assert_array_equal(action, expected.numpy())


def test_cores_are_refused_by_the_wrong_policy_class():
    with pytest.raises(ValueError, match="CoreRecurrentPolicy"):
        tiny_model_with("gru", CoreFeedForwardPolicy)
    with pytest.raises(ValueError, match="CoreFeedForwardPolicy"):
        tiny_model_with("mlp", CoreRecurrentPolicy)


def tiny_model_with(core: str, cls):
    env = ShortEpisodes()
    config = PolicyConfig(obs_kind="kin", obs_dim=3, action_dim=2, core=core, feature_dim=8).to_dict()
    return cls(env.observation_space, env.action_space, lambda _: 1e-3, policy_config=config, dt_s=0.1)
