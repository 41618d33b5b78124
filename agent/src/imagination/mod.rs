//! Training the actor-critic in imagination (algorithm.md, section 4): `rollout`
//! (imagined rollouts from real segments, the world model frozen), `returns`
//! (lambda-returns over them) and `actor_critic_trainer` (one optimisation step).

pub mod actor_critic_trainer;
pub mod returns;
pub mod rollout;
