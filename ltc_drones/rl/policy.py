"""Actor-critic policies for stable-baselines3 whose actor is an ltc_drones :class:`~ltc_drones.models.Policy`.

Actor: the ``Policy`` (perception, any registry core, ``tanh(Linear)`` head). Its action is the mean of a
diagonal Gaussian with a learned, state-independent log standard deviation; the env clips sampled actions
to [-1, 1]. So the deterministic action of the PPO policy *is* the ``Policy``'s action, and the trained
actor is saved as an ordinary agent (:mod:`ltc_drones.rl.checkpoint`).

Critic: its own perception (the same kind as the actor's) followed by an MLP that also reads the actor
core's output, detached: the value sees the actor's memory without a second recurrent core (half the
cost), and value gradients never reach the actor, as in sb3-contrib's ``shared_lstm`` mode.

:class:`CoreRecurrentPolicy` plugs into sb3-contrib's ``RecurrentPPO`` (for every core with a state);
:class:`CoreFeedForwardPolicy` into stable-baselines3's ``PPO`` (the memory-less ``mlp`` core).

**Hidden state in RecurrentPPO's layout.** ``RecurrentPPO`` stores, per env, ``RNNStates(pi=(h, c),
vf=(h, c))``, each tensor ``[num_layers=1, n_envs, hidden_size]`` (an ``nn.LSTM``'s), and sizes its
buffers from ``policy.lstm_actor.num_layers`` / ``.hidden_size``. Our cores keep one tensor ``[B, S]``
(:mod:`ltc_drones.models.base`). It is packed with ``H = ceil(S / 2)``: ``h = state[:, :H]`` and
``c = state[:, H:]`` zero-padded to ``H`` (:func:`pack_state` / :func:`unpack_state`). For the LSTM core
(state ``cat([h, c])``, ``S = 2U``) the two halves are exactly the LSTM's hidden and cell state. The
critic has no state of its own, so ``vf`` repeats ``pi`` (``predict_values`` runs the actor core from it).

**Sequences and episode starts** follow ``RecurrentActorCriticPolicy._process_sequence``: a batch of
``n_seq * T`` observations is ``n_seq`` sequences of length ``T`` laid out sequence-major (``T = 1`` while
collecting, ``n_seq`` = envs); ``episode_starts[k]`` resets that sequence's state to zeros *before* its
step ``k`` (the cores' own ``episode_start`` rule), and the returned state is the state after the last step.
Single steps (``T = 1``) go through the core's ``step``, as an :class:`~ltc_drones.training.Agent` does, so
the actions collected and predicted from state vectors are the saved agent's to the bit (from images, to
float rounding: the conv kernels follow the tensors' memory layout); longer sequences (PPO's updates) go
through its sequence ``forward``, which agrees to float rounding (~1e-7).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import Tensor, nn

from ..models import Policy, PolicyConfig
from ..models.perception import ConvEncoder, KinEncoder


class CoreStateShape(NamedTuple):
    """What ``RecurrentPPO`` reads off ``policy.lstm_actor`` to size its hidden-state buffers."""

    num_layers: int
    hidden_size: int


def packed_size(state_size: int) -> int:
    """``hidden_size`` H of the packed ``(h, c)`` pair for a core state of ``state_size`` S: ``ceil(S / 2)``."""
    return max(1, math.ceil(state_size / 2))


def pack_state(state: Tensor, hidden_size: int) -> tuple[Tensor, Tensor]:
    """Core state ``[B, S]`` -> ``(h, c)``, each ``[1, B, H]`` (see the module docstring)."""
    padded = nn.functional.pad(state, (0, 2 * hidden_size - state.shape[-1]))
    return padded[:, :hidden_size].unsqueeze(0).contiguous(), padded[:, hidden_size:].unsqueeze(0).contiguous()


def unpack_state(hc: tuple[Tensor, ...], state_size: int) -> Tensor:
    """``(h, c)`` each ``[1, B, H]`` -> core state ``[B, S]``."""
    h, c = hc[0], hc[1]
    if h.dim() != 3 or h.shape[0] != 1:
        raise ValueError(f"packed states must be [1, B, H] (one layer), got {list(h.shape)}")
    return torch.cat([h[0], c[0]], dim=-1)[:, :state_size]


class Critic(nn.Module):
    """Value network: own perception of the observation + MLP over ``[features, actor core output]``."""

    def __init__(self, config: PolicyConfig, core_output: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        c = config
        self.kin_encoder = KinEncoder(c.obs_dim, c.kin_hidden, c.feature_dim) if "kin" in c.obs_kind else None
        self.rgb_encoder = ConvEncoder(c.conv_channels, c.feature_dim, c.conv_pool) if "rgb" in c.obs_kind else None
        width = c.feature_dim * (c.obs_kind == "rgb_kin") + c.feature_dim + core_output
        layers: list[nn.Module] = []
        for w in hidden:
            layers += [nn.Linear(width, w), nn.Tanh()]
            width = w
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, kin: Tensor | None, rgb: Tensor | None, core_out: Tensor) -> Tensor:
        """Values ``[N, 1]`` from observation parts ``[N, ...]`` and the actor core's output ``[N, O]``."""
        feats = []
        if self.kin_encoder is not None:
            feats.append(self.kin_encoder(kin))
        if self.rgb_encoder is not None:
            feats.append(self.rgb_encoder(rgb))
        return self.mlp(torch.cat([*feats, core_out.to(feats[0].dtype)], dim=-1))


class _CoreActorCritic:
    """Shared construction and passes of both policies (mixed into an SB3 ``ActorCriticPolicy`` subclass)."""

    actor: Policy
    critic_net: Critic
    log_std: nn.Parameter

    def _init_core(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule,
                   policy_config: dict[str, Any], dt_s: float, critic_hidden, log_std_init: float,
                   use_sde: bool) -> None:
        if use_sde:
            raise ValueError("gSDE (use_sde=True) is not supported by the ltc_drones core policies")
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"the core policies need a 1-D Box action space, got {action_space}")
        config = PolicyConfig.from_dict(dict(policy_config))
        if config.action_dim != action_space.shape[0]:
            raise ValueError(f"policy_config action_dim={config.action_dim} but the env has "
                             f"{action_space.shape[0]} actions")
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a positive number of seconds per step, got {dt_s}")
        # Set before ActorCriticPolicy.__init__, which calls self._build.
        self.policy_config, self.dt_s = config.to_dict(), float(dt_s)
        self.critic_hidden = tuple(int(w) for w in critic_hidden)
        self._chw = _image_is_chw(observation_space, config)
        ActorCriticPolicy.__init__(self, observation_space, action_space, lr_schedule, net_arch=[],
                                   ortho_init=False, log_std_init=log_std_init,
                                   features_extractor_class=FlattenExtractor, normalize_images=False)

    def _build(self, lr_schedule) -> None:
        """The actor ``Policy``, the critic, the log std and the optimiser (replaces SB3's MLP heads)."""
        self.actor = Policy(PolicyConfig.from_dict(self.policy_config))
        self.critic_net = Critic(self.actor.config, self.actor.core.output_size, self.critic_hidden)
        self.log_std = nn.Parameter(torch.full((self.actor.config.action_dim,), float(self.log_std_init)))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _constructor_kwargs(self) -> dict[str, Any]:
        return {"observation_space": self.observation_space, "action_space": self.action_space,
                "lr_schedule": self._dummy_schedule, "policy_config": self.policy_config, "dt_s": self.dt_s,
                "critic_hidden": self.critic_hidden, "log_std_init": self.log_std_init}

    def _parts(self, obs) -> tuple[Tensor | None, Tensor | None]:
        """``(kin [N, d], rgb uint8-valued [N, H, W, 3])`` of a batch of observations (either may be None)."""
        kind = self.actor.config.obs_kind
        if kind == "rgb_kin":
            kin, rgb = obs["kin"], obs["rgb"]
        elif kind == "kin":
            kin, rgb = obs, None
        else:
            kin, rgb = None, obs
        if kin is not None:
            kin = kin.reshape(kin.shape[0], -1).float()
        if rgb is not None and self._chw:  # SB3 wraps channel-last image envs in VecTransposeImage
            rgb = rgb.permute(0, 2, 3, 1)
        return kin, rgb

    def _actor_pass(self, kin, rgb, state: Tensor | None, starts: Tensor | None,
                    n_seq: int) -> tuple[Tensor, Tensor, Tensor]:
        """``(mean actions [N, A], core output [N, O], final state [n_seq, S])`` for ``n_seq`` sequences."""
        feats = self.actor.encode(kin, rgb)
        x = feats.reshape(n_seq, -1, feats.shape[-1])
        es = None if starts is None else starts.reshape(n_seq, -1).to(torch.bool)
        if x.shape[1] == 1:  # one step per sequence (collection, predict): the agent's own path, to the bit
            y, state = self.actor.core.step(x[:, 0], state, self.dt_s, None if es is None else es[:, 0])
        else:
            y, state = self.actor.core(x, state, self.dt_s, es)
        y = y.reshape(-1, y.shape[-1])
        return torch.tanh(self.actor.head(y)), y, state

    def _distribution(self, mean: Tensor):
        return self.action_dist.proba_distribution(mean, self.log_std)


def _image_is_chw(space: spaces.Space, config: PolicyConfig) -> bool:
    """Whether the image observations arrive channel-first (SB3's ``VecTransposeImage``)."""
    if "rgb" not in config.obs_kind:
        return False
    img = space["rgb"] if isinstance(space, spaces.Dict) else space
    return tuple(img.shape) == (3, *config.image_hw)


class CoreRecurrentPolicy(_CoreActorCritic, RecurrentActorCriticPolicy):
    """A ``RecurrentActorCriticPolicy`` whose recurrent part is an ltc_drones core (see the module docstring).

    Args:
        observation_space, action_space, lr_schedule: as SB3's (the action space is a 1-D Box in [-1, 1]).
        policy_config: :meth:`PolicyConfig.to_dict` of the actor (any core with a state).
        dt_s: seconds per control step, passed to the core.
        critic_hidden: hidden widths of the value MLP.
        log_std_init: initial log standard deviation of the actions.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule,
                 policy_config: dict[str, Any], dt_s: float, critic_hidden=(64, 64), log_std_init: float = -0.5,
                 use_sde: bool = False) -> None:
        self._init_core(observation_space, action_space, lr_schedule, policy_config, dt_s, critic_hidden,
                        log_std_init, use_sde)
        state_size = self.actor.core.state_size
        if state_size < 1:
            raise ValueError(f"core {self.actor.config.core!r} has no recurrent state; train it with "
                             "CoreFeedForwardPolicy (stable-baselines3 PPO)")
        self.state_size = state_size
        hidden = packed_size(state_size)
        # What RecurrentPPO and RecurrentActorCriticPolicy.predict read (no nn.LSTM is built).
        self.lstm_actor = CoreStateShape(1, hidden)
        self.lstm_hidden_state_shape = (1, 1, hidden)
        self.lstm_output_dim = self.actor.core.output_size
        self.lstm_critic, self.critic = None, None
        self.shared_lstm, self.enable_critic_lstm, self.lstm_kwargs = True, False, {}

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return self._constructor_kwargs()

    def _run(self, obs, hc: tuple[Tensor, ...], episode_starts: Tensor):
        n_seq = hc[0].shape[1]
        kin, rgb = self._parts(obs)
        mean, y, state = self._actor_pass(kin, rgb, unpack_state(hc, self.state_size), episode_starts, n_seq)
        return kin, rgb, mean, y, pack_state(state, self.lstm_actor.hidden_size)

    def forward(self, obs, lstm_states: RNNStates, episode_starts: Tensor,
                deterministic: bool = False) -> tuple[Tensor, Tensor, Tensor, RNNStates]:
        """Actions, values, log-probabilities and the next ``RNNStates`` (``vf`` = ``pi``)."""
        kin, rgb, mean, y, packed = self._run(obs, lstm_states.pi, episode_starts)
        values = self.critic_net(kin, rgb, y.detach())
        distribution = self._distribution(mean)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        return actions.reshape((-1, *self.action_space.shape)), values, log_prob, RNNStates(packed, packed)

    def get_distribution(self, obs, lstm_states: tuple[Tensor, ...], episode_starts: Tensor):
        """The action distribution and the next packed actor state."""
        _, _, mean, _, packed = self._run(obs, lstm_states, episode_starts)
        return self._distribution(mean), packed

    def predict_values(self, obs, lstm_states: tuple[Tensor, ...], episode_starts: Tensor) -> Tensor:
        """Values ``[N, 1]``; ``lstm_states`` is the ``vf`` pair, which holds the actor core's state."""
        kin, rgb, _, y, _ = self._run(obs, lstm_states, episode_starts)
        return self.critic_net(kin, rgb, y.detach())

    def evaluate_actions(self, obs, actions: Tensor, lstm_states: RNNStates,
                         episode_starts: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Values, log-probabilities of ``actions`` and entropies over padded sequences (one core pass)."""
        kin, rgb, mean, y, _ = self._run(obs, lstm_states.pi, episode_starts)
        distribution = self._distribution(mean)
        return self.critic_net(kin, rgb, y.detach()), distribution.log_prob(actions), distribution.entropy()


class CoreFeedForwardPolicy(_CoreActorCritic, ActorCriticPolicy):
    """An ``ActorCriticPolicy`` (stable-baselines3 ``PPO``) with a memory-less core (``mlp``); arguments as
    :class:`CoreRecurrentPolicy`."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule,
                 policy_config: dict[str, Any], dt_s: float, critic_hidden=(64, 64), log_std_init: float = -0.5,
                 use_sde: bool = False) -> None:
        self._init_core(observation_space, action_space, lr_schedule, policy_config, dt_s, critic_hidden,
                        log_std_init, use_sde)
        if self.actor.core.state_size != 0:
            raise ValueError(f"core {self.actor.config.core!r} is recurrent; train it with CoreRecurrentPolicy "
                             "(sb3-contrib RecurrentPPO)")

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return self._constructor_kwargs()

    def _run(self, obs):
        kin, rgb = self._parts(obs)
        n = (kin if kin is not None else rgb).shape[0]
        mean, y, _ = self._actor_pass(kin, rgb, None, None, n)
        return kin, rgb, mean, y

    def forward(self, obs, deterministic: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        kin, rgb, mean, y = self._run(obs)
        distribution = self._distribution(mean)
        actions = distribution.get_actions(deterministic=deterministic)
        return (actions.reshape((-1, *self.action_space.shape)), self.critic_net(kin, rgb, y.detach()),
                distribution.log_prob(actions))

    def get_distribution(self, obs):
        return self._distribution(self._run(obs)[2])

    def predict_values(self, obs) -> Tensor:
        kin, rgb, _, y = self._run(obs)
        return self.critic_net(kin, rgb, y.detach())

    def evaluate_actions(self, obs, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        kin, rgb, mean, y = self._run(obs)
        distribution = self._distribution(mean)
        return self.critic_net(kin, rgb, y.detach()), distribution.log_prob(actions), distribution.entropy()


def policy_class_for(policy_config: dict[str, Any]) -> type[CoreRecurrentPolicy] | type[CoreFeedForwardPolicy]:
    """The SB3 policy class for an actor config: feed-forward for the ``mlp`` core, else recurrent."""
    return CoreFeedForwardPolicy if policy_config["core"] == "mlp" else CoreRecurrentPolicy

