"""Public hooks that let diagnostics change a task's single target mid-episode (causal interventions).

:class:`InterventionTarget` is mixed into the tasks with one target body (FlyToTarget, FollowTarget);
:mod:`ltc_drones.diagnostics.interventions` uses it to make the target jump, swap places with a
distractor, or disappear for a while. Nothing here draws a random number, so an episode without an
intervention is exactly the episode it always was.
"""

from __future__ import annotations

import numpy as np


class InterventionTarget:
    """Mixin for a task whose target is ``self.target_id`` at ``self.target_pos_m`` (m, world frame).

    * :meth:`move_target` puts the target at a new place between two steps (a jump); the goal, the
      distance, the shaping potentials and the occluders follow at once, so the next step's reward
      counts only the drone's own progress. FollowTarget's target moves on from there.
    * :meth:`set_target_visible` takes the target's body out of every rendered view (onboard image,
      segmentation mask, chase view) and makes :meth:`target_in_view` False, or brings it back. The
      target keeps its place (and FollowTarget its motion) while hidden; success still counts the
      true distance. Privileged ``kin`` observations and the experts read the true target regardless.

    Every episode starts with the target visible.
    """

    target_visible: bool = True

    def move_target(self, pos_m) -> None:
        """Move the target to ``pos_m`` (3 numbers, m, world frame); call between steps, after reset."""
        p = np.array(pos_m, dtype=np.float64).reshape(-1)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ValueError(f"pos_m must be 3 finite numbers (m, world frame), got {pos_m!r}")
        self.target_pos_m = p
        self._place_target_body()
        if getattr(self, "_reset_done", False):
            self.scene.follow_goal(self.goal_pos_m)
            self._distance_m = self._goal_distance()
            self._phi = self._potentials()

    def set_target_visible(self, visible: bool) -> None:
        """Show (True) or hide (False) the target's body from every camera until changed again."""
        self.target_visible = bool(visible)
        self._place_target_body()

    def target_in_view(self) -> bool:
        return self.target_visible and super().target_in_view()

    def _place_target_body(self) -> None:
        if self.target_visible:
            self.sim.world.move_body(self.target_id, self.target_pos_m)
        else:
            self.sim.world.hide_body(self.target_id)
