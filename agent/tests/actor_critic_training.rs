//! Lambda-returns, losses and action sampling of the controller.

use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rem_agent::actor_critic::{
    sample_action_from_logits, sample_actions, ActorCriticLoss, ENTROPY_WEIGHT,
};
use rem_agent::imagination::returns::{LambdaReturns, GAMMA, LAMBDA};

type Cpu = Flex;
type Train = Autodiff<Flex>;

fn tensor<B: Backend, const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn to_vec<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap()
}

fn scalar<B: Backend>(tensor: Tensor<B, 1>) -> f32 {
    to_vec(tensor)[0]
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len());
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "index {i}: {a} vs {e} (tol {tol})");
    }
}

/// A random rollout of `rows` x `horizon`: rewards in {-1, 0, 1}, some episode ends.
fn random_rollout(rows: usize, horizon: usize, rng: &mut StdRng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let rewards = (0..rows * horizon)
        .map(|_| rng.random_range(-1..=1) as f32)
        .collect();
    let continues = (0..rows * horizon)
        .map(|_| if rng.random_bool(0.8) { 1.0 } else { 0.0 })
        .collect();
    let values = (0..rows * (horizon + 1))
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    (rewards, continues, values)
}

#[test]
fn lambda_returns_match_a_hand_computed_case() {
    let returns = LambdaReturns::new(0.5, 0.5).unwrap();
    // Row 0, no end: G_2 = V_2 = 8; G_1 = 2 + 0.5 (0.5*8 + 0.5*8) = 6;
    //                G_0 = 1 + 0.5 (0.5*4 + 0.5*6) = 3.5.
    // Row 1, episode ends at step 0: G_1 = 6 as above; G_0 = r_0 = 1.
    let g = returns.compute::<Cpu>(
        tensor(vec![1.0, 2.0, 1.0, 2.0], [2, 2]),
        tensor(vec![1.0, 1.0, 0.0, 1.0], [2, 2]),
        tensor(vec![0.0, 4.0, 8.0, 0.0, 4.0, 8.0], [2, 3]),
    );
    assert_close(&to_vec(g), &[3.5, 6.0, 1.0, 6.0], 1e-6);
}

#[test]
fn lambda_returns_on_tensors_match_the_host_oracle() {
    let mut rng = StdRng::seed_from_u64(11);
    let (rows, horizon) = (4, 9);
    let (rewards, continues, values) = random_rollout(rows, horizon, &mut rng);
    let returns = LambdaReturns::default();
    assert_eq!((returns.gamma, returns.lambda), (GAMMA, LAMBDA));
    let g = to_vec(returns.compute::<Cpu>(
        tensor(rewards.clone(), [rows, horizon]),
        tensor(continues.clone(), [rows, horizon]),
        tensor(values.clone(), [rows, horizon + 1]),
    ));
    for row in 0..rows {
        let steps = row * horizon..(row + 1) * horizon;
        let oracle = returns
            .compute_host(
                &rewards[steps.clone()],
                &continues[steps.clone()],
                &values[row * (horizon + 1)..(row + 1) * (horizon + 1)],
            )
            .unwrap();
        assert_close(&g[steps], &oracle, 1e-5);
    }
}

#[test]
fn lambda_one_gives_discounted_monte_carlo_returns_with_bootstrap() {
    let mut rng = StdRng::seed_from_u64(12);
    let (rows, horizon, gamma) = (3, 6, 0.9_f32);
    let (rewards, continues, values) = random_rollout(rows, horizon, &mut rng);
    let g = to_vec(LambdaReturns::new(gamma, 1.0).unwrap().compute::<Cpu>(
        tensor(rewards.clone(), [rows, horizon]),
        tensor(continues.clone(), [rows, horizon]),
        tensor(values.clone(), [rows, horizon + 1]),
    ));
    for row in 0..rows {
        let r = &rewards[row * horizon..(row + 1) * horizon];
        let c = &continues[row * horizon..(row + 1) * horizon];
        let bootstrap = values[row * (horizon + 1) + horizon];
        for t in 0..horizon {
            // sum_k gamma^(k-t) r_k while the episode lasts, then gamma^(H-t) V_H.
            let (mut expected, mut discount) = (0.0_f32, 1.0_f32);
            for k in t..horizon {
                expected += discount * r[k];
                discount *= gamma * c[k];
            }
            expected += discount * bootstrap;
            let got = g[row * horizon + t];
            assert!(
                (got - expected).abs() <= 1e-5,
                "row {row} t {t}: {got} vs {expected}"
            );
        }
    }
}

#[test]
fn lambda_returns_reject_bad_parameters_and_lengths() {
    assert!(LambdaReturns::new(1.5, 0.95)
        .unwrap_err()
        .to_string()
        .contains("gamma"));
    assert!(LambdaReturns::new(0.99, -0.1)
        .unwrap_err()
        .to_string()
        .contains("lambda"));
    let err = LambdaReturns::default()
        .compute_host(&[1.0, 2.0], &[1.0, 1.0], &[0.0, 0.0])
        .unwrap_err();
    assert!(err.to_string().contains("H + 1 values"), "{err}");
}

/// softmax of one row, on the host.
fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = row.iter().map(|x| (x - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

#[test]
fn loss_terms_and_gradients_match_their_definitions() {
    let mut rng = StdRng::seed_from_u64(13);
    let (batch, steps, n_actions) = (2, 3, 4);
    let cells = batch * steps;
    let logits_host: Vec<f32> = (0..cells * n_actions)
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let actions_host: Vec<i64> = (0..cells)
        .map(|_| rng.random_range(0..n_actions as i64))
        .collect();
    let values_host: Vec<f32> = (0..cells).map(|_| rng.random_range(-1.0..1.0)).collect();
    let returns_host: Vec<f32> = (0..cells).map(|_| rng.random_range(-1.0..1.0)).collect();
    // The last step of row 1 is masked out.
    let mask_host: Vec<bool> = (0..cells).map(|i| i != cells - 1).collect();
    let counted = mask_host.iter().filter(|&&m| m).count() as f32;

    let logits = tensor::<Train, 3>(logits_host.clone(), [batch, steps, n_actions]).require_grad();
    let values = tensor::<Train, 2>(values_host.clone(), [batch, steps]).require_grad();
    let returns = tensor::<Train, 2>(returns_host.clone(), [batch, steps]).require_grad();
    let loss = ActorCriticLoss::new(
        logits.clone(),
        Tensor::from_data(
            TensorData::new(actions_host.clone(), [batch, steps]),
            &Default::default(),
        ),
        values.clone(),
        returns.clone(),
        Tensor::from_data(
            TensorData::new(mask_host.clone(), [batch, steps]),
            &Default::default(),
        ),
        ENTROPY_WEIGHT,
    );

    let (mut policy, mut value, mut entropy) = (0.0_f32, 0.0_f32, 0.0_f32);
    let (mut advantage_mean, mut advantage_square) = (0.0_f32, 0.0_f32);
    let mut logit_grad = vec![0.0_f32; cells * n_actions];
    let mut value_grad = vec![0.0_f32; cells];
    for i in (0..cells).filter(|&i| mask_host[i]) {
        let p = softmax(&logits_host[i * n_actions..(i + 1) * n_actions]);
        let a = actions_host[i] as usize;
        let advantage = returns_host[i] - values_host[i];
        let step_entropy: f32 = -p.iter().map(|q| q * q.ln()).sum::<f32>();
        policy -= p[a].ln() * advantage / counted;
        value += (values_host[i] - returns_host[i]).powi(2) / counted;
        entropy += step_entropy / counted;
        advantage_mean += advantage / counted;
        advantage_square += advantage * advantage / counted;
        value_grad[i] = 2.0 * (values_host[i] - returns_host[i]) / counted;
        for j in 0..n_actions {
            // d(-log p_a * adv)/dz_j = (p_j - [j == a]) adv;
            // d(-w H)/dz_j = w p_j (log p_j + H).
            let onehot = if j == a { 1.0 } else { 0.0 };
            let policy_part = (p[j] - onehot) * advantage;
            let entropy_part = ENTROPY_WEIGHT * p[j] * (p[j].ln() + step_entropy);
            logit_grad[i * n_actions + j] = (policy_part + entropy_part) / counted;
        }
    }
    assert_close(&[scalar(loss.policy.clone())], &[policy], 1e-5);
    assert_close(&[scalar(loss.value.clone())], &[value], 1e-5);
    assert_close(&[scalar(loss.entropy.clone())], &[entropy], 1e-5);
    assert_close(&[scalar(loss.advantage.clone())], &[advantage_mean], 1e-5);
    assert_close(
        &[scalar(loss.advantage_square.clone())],
        &[advantage_square],
        1e-5,
    );
    let total = policy + value - ENTROPY_WEIGHT * entropy;
    assert_close(&[scalar(loss.total.clone())], &[total], 1e-5);

    let grads = loss.total.backward();
    // The advantage is detached: values get only the value-loss gradient.
    assert_close(&to_vec(values.grad(&grads).unwrap()), &value_grad, 1e-5);
    assert_close(&to_vec(logits.grad(&grads).unwrap()), &logit_grad, 1e-5);
    // Returns are targets: no gradient at all.
    let returns_grad = returns.grad(&grads).map(to_vec).unwrap_or_default();
    assert!(
        returns_grad.iter().all(|&g| g == 0.0),
        "returns got a gradient"
    );
}

#[test]
fn uniform_logits_have_maximal_entropy() {
    let (batch, steps, n_actions) = (1, 2, 6);
    let loss = ActorCriticLoss::new(
        tensor::<Cpu, 3>(
            vec![0.3; batch * steps * n_actions],
            [batch, steps, n_actions],
        ),
        Tensor::from_data(
            TensorData::new(vec![0_i64; 2], [batch, steps]),
            &Default::default(),
        ),
        tensor(vec![0.0; 2], [batch, steps]),
        tensor(vec![0.0; 2], [batch, steps]),
        Tensor::from_data(
            TensorData::new(vec![true; 2], [batch, steps]),
            &Default::default(),
        ),
        ENTROPY_WEIGHT,
    );
    assert_close(&[scalar(loss.entropy)], &[(n_actions as f32).ln()], 1e-5);
}

fn logits_rows(rows: &[Vec<f32>]) -> Tensor<Cpu, 2> {
    let n = rows[0].len();
    tensor(rows.concat(), [rows.len(), n])
}

#[test]
fn epsilon_one_samples_uniformly_and_flags_every_step() {
    let mut rng = StdRng::seed_from_u64(14);
    let n_actions = 4;
    let draws = 8000;
    // A policy that strongly prefers action 0 must not matter at epsilon 1.
    let logits = logits_rows(&vec![vec![10.0, 0.0, 0.0, 0.0]; draws]);
    let sampled = sample_actions(logits, 1.0, 1.0, &mut rng).unwrap();
    assert!(sampled.was_random.iter().all(|&r| r));
    let mut counts = vec![0_usize; n_actions];
    sampled.taken.iter().for_each(|&a| counts[a] += 1);
    let expected = draws as f64 / n_actions as f64;
    let sd = (draws as f64 * 0.25 * 0.75).sqrt();
    for (action, &count) in counts.iter().enumerate() {
        assert!(
            (count as f64 - expected).abs() < 5.0 * sd,
            "action {action}: {count} draws, expected about {expected}"
        );
    }
}

#[test]
fn epsilon_zero_and_vanishing_temperature_pick_the_argmax() {
    let mut rng = StdRng::seed_from_u64(15);
    let rows = vec![
        vec![0.1, 0.5, 0.49, -3.0],
        vec![2.0, 1.99, 0.0, 0.0],
        vec![-1.0, -1.0, -0.5, -2.0],
    ];
    let argmax = vec![1, 0, 2];
    for temperature in [0.0, 1e-3] {
        for _ in 0..50 {
            let sampled = sample_actions(logits_rows(&rows), temperature, 0.0, &mut rng).unwrap();
            assert_eq!(sampled.taken, argmax, "temperature {temperature}");
            assert!(sampled.was_random.iter().all(|&r| !r));
        }
    }
}

#[test]
fn temperature_one_follows_the_softmax() {
    let mut rng = StdRng::seed_from_u64(16);
    let row = [1.0_f32, 0.0, -1.0];
    let p = softmax(&row);
    let draws = 20000;
    let mut counts = [0_usize; 3];
    for _ in 0..draws {
        counts[sample_action_from_logits(&row, 1.0, &mut rng).unwrap()] += 1;
    }
    for (action, &count) in counts.iter().enumerate() {
        let q = p[action] as f64;
        let sd = (draws as f64 * q * (1.0 - q)).sqrt();
        let expected = draws as f64 * q;
        assert!(
            (count as f64 - expected).abs() < 5.0 * sd,
            "action {action}: {count} vs {expected}"
        );
    }
}

#[test]
fn sampling_is_reproducible_from_the_seed() {
    let logits = || logits_rows(&vec![vec![0.2, 0.1, 0.0, -0.1, 0.3]; 64]);
    let run = |seed| sample_actions(logits(), 1.0, 0.3, &mut StdRng::seed_from_u64(seed)).unwrap();
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    let taken = run(7);
    let as_tensor = to_vec(taken.taken_tensor::<Cpu>(&Default::default()).float());
    let as_floats: Vec<f32> = taken.taken.iter().map(|&a| a as f32).collect();
    assert_eq!(as_tensor, as_floats);
}

#[test]
fn sampling_rejects_bad_parameters() {
    let mut rng = StdRng::seed_from_u64(17);
    let logits = || logits_rows(&[vec![0.0, 1.0]]);
    let err = sample_actions(logits(), -1.0, 0.0, &mut rng).unwrap_err();
    assert!(err.to_string().contains("temperature"), "{err}");
    let err = sample_actions(logits(), 1.0, 1.5, &mut rng).unwrap_err();
    assert!(err.to_string().contains("epsilon"), "{err}");
    let err = sample_action_from_logits(&[0.0, f32::NAN], 1.0, &mut rng).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}

#[test]
fn weighted_losses_of_row_shares_add_up_to_the_batchs() {
    let mut rng = StdRng::seed_from_u64(21);
    let (batch, steps, n_actions) = (4, 3, 5);
    let random = |n: usize, rng: &mut StdRng| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()
    };
    let logits = random(batch * steps * n_actions, &mut rng);
    let actions: Vec<i64> = (0..batch * steps)
        .map(|_| rng.random_range(0..n_actions as i64))
        .collect();
    let (values, returns) = (
        random(batch * steps, &mut rng),
        random(batch * steps, &mut rng),
    );
    let loss_of_rows = |first: usize, rows: usize| {
        let cells = first * steps..(first + rows) * steps;
        let per_step = |v: &[f32]| tensor::<Cpu, 2>(v[cells.clone()].to_vec(), [rows, steps]);
        ActorCriticLoss::new(
            tensor::<Cpu, 3>(
                logits[cells.start * n_actions..cells.end * n_actions].to_vec(),
                [rows, steps, n_actions],
            ),
            Tensor::from_data(
                TensorData::new(actions[cells.clone()].to_vec(), [rows, steps]),
                &Default::default(),
            ),
            per_step(&values),
            per_step(&returns),
            Tensor::ones([rows, steps], &Default::default()),
            ENTROPY_WEIGHT,
        )
    };
    let whole = loss_of_rows(0, batch);
    let first = loss_of_rows(0, 3).weighted(0.75);
    let last = loss_of_rows(3, 1).weighted(0.25);
    for (whole, first, last) in [
        (whole.total, first.total, last.total),
        (whole.policy, first.policy, last.policy),
        (whole.value, first.value, last.value),
        (whole.entropy, first.entropy, last.entropy),
    ] {
        assert_close(&[scalar(first) + scalar(last)], &[scalar(whole)], 1e-5);
    }
}
