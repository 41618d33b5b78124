//! The environment pool: lockstep stepping on worker threads, auto-reset, the
//! transition channel into the store, and error propagation without hangs.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_envs::native::{make_native, Catch};
use rem_envs::store::{EpisodeStore, Padding};
use rem_envs::vector::{EnvPool, PoolEvent};
use rem_envs::{ActionSpace, Env, EnvError, EnvResult, Frame, Info, Step};

fn catch_pool(n: usize, seed: u64) -> EnvPool {
    let envs = (0..n).map(|_| make_native("catch").unwrap()).collect();
    EnvPool::new(envs, seed)
}

/// Drives a pool with seeded random actions, draining into a store every step.
fn collect(seed: u64, steps: usize) -> (EpisodeStore, Vec<f32>) {
    let mut pool = catch_pool(3, seed);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(usize::MAX);
    let mut rng = StdRng::seed_from_u64(99);
    pool.reset_all().unwrap();
    let mut rewards = Vec::new();
    for _ in 0..steps {
        let actions: Vec<usize> = (0..3).map(|_| rng.random_range(0..3)).collect();
        rewards.extend(pool.step(&actions).unwrap().iter().map(|s| s.step.reward));
        events.drain_into(&mut store);
    }
    (store, rewards)
}

#[test]
fn every_transition_reaches_the_store() {
    let steps = 150;
    let (store, rewards) = collect(5, steps);
    assert_eq!(store.num_steps(), 3 * steps);
    assert_eq!(rewards.len(), 3 * steps);
    // Catch episodes last 70 steps: two completed per environment, one in progress.
    assert_eq!(store.num_complete_episodes(), 6);
    assert_eq!(
        store.episode_lens(),
        vec![70, 70, 70, 70, 70, 70, 10, 10, 10]
    );
    let batch = store
        .sample_segments(&mut StdRng::seed_from_u64(0), 8, 70, Padding::Right, 1)
        .unwrap();
    let total_reward: f32 = batch.rewards.iter().sum();
    assert!(total_reward != 0.0, "sampled segments carry the rewards");
}

#[test]
fn collection_is_deterministic_for_a_pool_seed() {
    let (a, rewards_a) = collect(5, 80);
    let (b, rewards_b) = collect(5, 80);
    assert_eq!(a, b);
    assert_eq!(rewards_a, rewards_b);
    let (c, _) = collect(6, 80);
    assert_ne!(a, c, "another pool seed gives other episodes");
}

#[test]
fn workers_get_distinct_seeds() {
    let mut pool = catch_pool(3, 1);
    let mut trajectories: Vec<Vec<Frame>> = pool
        .reset_all()
        .unwrap()
        .into_iter()
        .map(|f| vec![f])
        .collect();
    for _ in 0..20 {
        for (i, result) in pool.step(&[0, 0, 0]).unwrap().into_iter().enumerate() {
            trajectories[i].push(result.step.obs);
        }
    }
    assert_ne!(trajectories[0], trajectories[1]);
    assert_ne!(trajectories[1], trajectories[2]);
}

#[test]
fn finished_envs_reset_and_report_both_observations() {
    let mut pool = catch_pool(2, 3);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(usize::MAX);
    pool.reset_all().unwrap();
    let mut ends_seen = 0;
    for t in 1..=140 {
        let results = pool.step(&[2, 1]).unwrap();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.step.done(), t % 70 == 0, "catch ends every 70 steps");
            match &r.reset {
                Some((first, info)) => {
                    ends_seen += 1;
                    assert_eq!(info.episode_frame, 0);
                    assert_ne!(
                        first, &r.step.obs,
                        "the terminal frame is kept apart from the new one"
                    );
                }
                None => assert!(!r.step.done()),
            }
            assert_eq!(pool.observation(i), Some(r.next_obs()));
        }
        events.drain_into(&mut store);
    }
    assert_eq!(ends_seen, 4);
    assert_eq!(store.num_complete_episodes(), 4);
    assert_eq!(store.num_steps(), 280);
}

#[test]
fn transitions_chain_observations() {
    let mut pool = catch_pool(2, 8);
    let events = pool.record_events();
    let mut obs = pool.reset_all().unwrap();
    for t in 0..75 {
        let actions = [t % 3, (t + 1) % 3];
        let results = pool.step(&actions).unwrap();
        let sent: Vec<PoolEvent> = events.pending();
        assert_eq!(sent.len(), 2);
        for (i, event) in sent.into_iter().enumerate() {
            let PoolEvent::Transition { env_id, transition } = event else {
                panic!("unexpected {event:?}")
            };
            assert_eq!(env_id, i, "events arrive in environment order");
            assert_eq!(
                transition.obs, obs[i],
                "each transition holds the observation acted in"
            );
            assert_eq!(transition.action, actions[i]);
            assert_eq!(transition.reward, results[i].step.reward);
            assert_eq!(transition.terminated, results[i].step.terminated);
        }
        obs = results.iter().map(|r| r.next_obs().clone()).collect();
    }
}

#[test]
fn reset_all_mid_episode_closes_the_episodes() {
    let mut pool = catch_pool(2, 4);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(usize::MAX);
    pool.reset_all().unwrap();
    for _ in 0..5 {
        pool.step(&[0, 0]).unwrap();
    }
    pool.reset_all().unwrap();
    pool.step(&[0, 0]).unwrap();
    events.drain_into(&mut store);
    assert_eq!(store.episode_lens(), vec![5, 5, 1, 1]);
    assert_eq!(store.num_complete_episodes(), 2);
}

#[test]
fn bad_calls_are_errors_and_leave_the_pool_usable() {
    let mut pool = catch_pool(3, 0);
    let events = pool.record_events();
    assert!(matches!(pool.step(&[0, 0, 0]), Err(EnvError::NeedsReset)));
    pool.reset_all().unwrap();
    match pool.step(&[0, 3, 0]) {
        Err(EnvError::InvalidAction { action: 3, n: 3 }) => {}
        other => panic!("expected InvalidAction, got {other:?}"),
    }
    let err = pool.step(&[0, 0]).unwrap_err();
    assert!(err.to_string().contains("expected 3 actions"), "{err}");
    assert_eq!(events.pending().len(), 0, "rejected calls step nothing");
    pool.step(&[0, 1, 2]).unwrap();
}

#[test]
fn environments_stepped_alone_go_as_with_the_others_and_the_rest_wait() {
    // Pool `some` steps only environment 1 (80 steps: past catch's 70-step episode);
    // pool `all` steps all three. Each environment draws from its own seeded stream.
    let (mut all, mut some) = (catch_pool(3, 6), catch_pool(3, 6));
    let first = all.reset_all().unwrap();
    assert!(some.reset_all().unwrap() == first);
    let mut ended = 0;
    let mut first_steps = None;
    for t in 0..80 {
        let action = t % 3;
        let together = all.step(&[0, action, 2]).unwrap();
        first_steps.get_or_insert_with(|| [together[0].clone(), together[2].clone()]);
        let alone = some.step_only(&[1], &[action]).unwrap();
        assert_eq!(alone.len(), 1);
        let (a, b) = (&together[1], &alone[0]);
        assert_eq!(
            (a.step.reward, a.step.done()),
            (b.step.reward, b.step.done()),
            "step {t}"
        );
        assert!(a.next_obs() == b.next_obs(), "step {t}");
        ended += b.step.done() as usize;
    }
    assert_eq!(ended, 1, "environment 1 ended an episode and went on");
    for waiting in [0, 2] {
        assert!(some.observation(waiting) == Some(&first[waiting]));
    }
    // They go on from where they waited: their first step is the one `all` took.
    let resumed = some.step_only(&[0, 2], &[0, 2]).unwrap();
    for (waited, stepped) in resumed.iter().zip(&first_steps.unwrap()) {
        assert_eq!(waited.step.reward, stepped.step.reward);
        assert!(waited.next_obs() == stepped.next_obs());
    }
}

#[test]
fn stepping_some_environments_checks_which_and_how() {
    let mut pool = catch_pool(3, 0);
    let events = pool.record_events();
    pool.reset_all().unwrap();
    for (ids, actions, needle) in [
        (&[2, 1][..], &[0, 0][..], "ascending"),
        (&[1, 1][..], &[0, 0][..], "ascending"),
        (&[3][..], &[0][..], "below 3"),
        (&[0, 1][..], &[0][..], "expected 2 actions"),
    ] {
        let err = pool.step_only(ids, actions).unwrap_err();
        assert!(err.to_string().contains(needle), "{ids:?}: {err}");
    }
    assert!(matches!(
        pool.step_only(&[1], &[3]),
        Err(EnvError::InvalidAction { action: 3, n: 3 })
    ));
    assert_eq!(events.pending().len(), 0, "rejected calls step nothing");
    assert!(pool.step_only(&[], &[]).unwrap().is_empty());
    pool.step_only(&[0, 2], &[1, 2]).unwrap();
    let stepped: Vec<usize> = events
        .pending()
        .iter()
        .map(|e| match e {
            PoolEvent::Transition { env_id, .. } => *env_id,
            PoolEvent::EpisodeAborted { env_id } => panic!("aborted {env_id}"),
        })
        .collect();
    assert_eq!(stepped, vec![0, 2]);
}

/// How a `Faulty` environment misbehaves at its `fail_at`-th step.
#[derive(Clone, Copy)]
enum Fault {
    Panic,
    Error,
    Hang,
}

/// Catch that misbehaves at one step.
struct Faulty {
    inner: Catch,
    fault: Fault,
    fail_at: u64,
    steps: u64,
}

impl Faulty {
    fn boxed(fault: Fault, fail_at: u64) -> Box<dyn Env> {
        Box::new(Self {
            inner: Catch::new(),
            fault,
            fail_at,
            steps: 0,
        })
    }
}

impl Env for Faulty {
    fn action_space(&self) -> &ActionSpace {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)> {
        self.inner.reset(seed)
    }

    fn step(&mut self, action: usize) -> EnvResult<Step> {
        self.steps += 1;
        if self.steps == self.fail_at {
            match self.fault {
                Fault::Panic => panic!("emulator crashed"),
                Fault::Error => return Err(EnvError::Backend("worker pipe closed".into())),
                Fault::Hang => std::thread::sleep(Duration::from_secs(3)),
            }
        }
        self.inner.step(action)
    }

    fn name(&self) -> &str {
        "faulty"
    }
}

fn faulty_pool(fault: Fault) -> EnvPool {
    let envs = vec![make_native("catch").unwrap(), Faulty::boxed(fault, 3)];
    EnvPool::new(envs, 0)
}

#[test]
fn a_panicking_worker_is_reported_not_propagated() {
    let mut pool = faulty_pool(Fault::Panic);
    let events = pool.record_events();
    let mut store = EpisodeStore::new(usize::MAX);
    pool.reset_all().unwrap();
    pool.step(&[0, 0]).unwrap();
    pool.step(&[0, 0]).unwrap();
    let err = pool.step(&[0, 0]).unwrap_err();
    assert!(matches!(err, EnvError::Backend(_)));
    let message = err.to_string();
    assert!(
        message.contains("worker 1") && message.contains("emulator crashed"),
        "{message}"
    );
    // The healthy environment's step still reached the store; the dead one's did not.
    assert_eq!(events.drain_into(&mut store), 2 * 2 + 1);
    // A dead worker fails every later call at once.
    assert!(pool.step(&[0, 0]).unwrap_err().to_string().contains("died"));
    assert!(pool
        .reset_all()
        .unwrap_err()
        .to_string()
        .contains("emulator crashed"));
}

#[test]
fn an_env_error_needs_a_reset_then_recovers() {
    let mut pool = faulty_pool(Fault::Error);
    pool.reset_all().unwrap();
    pool.step(&[0, 0]).unwrap();
    pool.step(&[0, 0]).unwrap();
    let err = pool.step(&[0, 0]).unwrap_err();
    assert!(err.to_string().contains("worker pipe closed"), "{err}");
    assert!(matches!(pool.step(&[0, 0]), Err(EnvError::NeedsReset)));
    pool.reset_all().unwrap();
    pool.step(&[0, 0]).unwrap();
}

#[test]
fn a_hung_worker_times_out() {
    let mut pool = faulty_pool(Fault::Hang).with_reply_timeout(Duration::from_millis(200));
    pool.reset_all().unwrap();
    pool.step(&[0, 0]).unwrap();
    pool.step(&[0, 0]).unwrap();
    let started = Instant::now();
    let err = pool.step(&[0, 0]).unwrap_err();
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(pool.step(&[0, 0]).is_err());
    drop(pool);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "dropping the pool does not wait for the hung worker"
    );
}

#[test]
fn a_pool_records_only_once_asked() {
    let mut pool = catch_pool(2, 5);
    let mut store = EpisodeStore::new(usize::MAX);
    pool.reset_all().unwrap();
    for _ in 0..30 {
        pool.step(&[0, 1]).unwrap();
    }
    let events = pool.record_events();
    assert!(
        events.pending().is_empty(),
        "nothing before recording began"
    );
    for _ in 0..3 {
        pool.step(&[2, 1]).unwrap();
    }
    assert_eq!(events.drain_into(&mut store), 6);
    assert_eq!(store.num_steps(), 6);
}

#[test]
fn a_pool_stops_recording_when_told() {
    let mut pool = catch_pool(2, 6);
    let events = pool.record_events();
    pool.reset_all().unwrap();
    pool.step(&[0, 1]).unwrap();
    pool.stop_recording();
    pool.step(&[0, 1]).unwrap();
    assert_eq!(
        events.pending().len(),
        2,
        "only the step before stop_recording"
    );
}
