//! The expected outcomes of an imagined step are the means of its drawn outcomes.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::values;
use rem_worldmodel::imagination::Outcome;

type B = common::EquivalenceBackend;

/// `rows` copies of one step whose reward sign is -1/0/+1 with probability 0.2/0.5/0.3
/// and which ends with probability 0.1.
fn outcome(rows: usize) -> Outcome<B> {
    let device = Default::default();
    let logits = |probs: &[f32]| -> Tensor<B, 2> {
        let row: Vec<f32> = probs.iter().map(|p| p.ln()).collect();
        let data: Vec<f32> = (0..rows).flat_map(|_| row.clone()).collect();
        Tensor::from_data(TensorData::new(data, [rows, probs.len()]), &device)
    };
    Outcome {
        reward_logits: logits(&[0.2, 0.5, 0.3]),
        done_logits: logits(&[0.9, 0.1]),
    }
}

#[test]
fn expected_reward_and_end_probability_follow_the_predicted_distributions() {
    let o = outcome(3);
    for r in values(o.expected_reward()) {
        assert!((r - 0.1).abs() < 1e-6, "P(+1) - P(-1) = 0.1, got {r}");
    }
    for d in values(o.done_probability()) {
        assert!((d - 0.1).abs() < 1e-6, "P(end) = 0.1, got {d}");
    }
}

#[test]
fn draws_average_to_the_expectations() {
    let o = outcome(20_000);
    let mean = |v: Vec<f32>| v.iter().sum::<f32>() / v.len() as f32;
    let reward = mean(values(o.sample_reward()));
    let done = mean(values(o.sample_done()));
    // Standard errors: 0.0049 (reward) and 0.0021 (end); 4 of them either side.
    assert!((reward - 0.1).abs() < 0.02, "mean drawn reward {reward}");
    assert!((done - 0.1).abs() < 0.009, "mean drawn end {done}");
}

#[test]
fn tokens_drawn_from_a_thread_stream_follow_the_softmax_and_repeat() {
    use rem_worldmodel::imagination::sample_logits;
    use rem_worldmodel::stream::with_thread_stream;

    let (rows, probs) = (20_000, [0.1f32, 0.0, 0.6, 0.3]);
    let logits: Vec<f32> = (0..rows)
        .flat_map(|_| probs.map(|p| if p > 0.0 { p.ln() } else { -1e9 }))
        .collect();
    let logits = Tensor::<B, 2>::from_data(TensorData::new(logits, [rows, 4]), &Default::default());
    let draw = |seed| -> Vec<i64> {
        with_thread_stream(seed, || sample_logits(logits.clone(), 1.0))
            .into_data()
            .convert::<i64>()
            .into_vec()
            .unwrap()
    };
    let drawn = draw(5);
    for (class, p) in probs.iter().enumerate() {
        let share = drawn.iter().filter(|&&c| c == class as i64).count() as f32 / rows as f32;
        // Binomial standard deviation at most ~0.0035.
        assert!(
            (share - p).abs() < 0.015,
            "class {class}: {share} drawn, {p} expected"
        );
    }
    assert_eq!(draw(5), drawn);
    let elsewhere = std::thread::scope(|s| s.spawn(|| draw(5)).join().unwrap());
    assert_eq!(elsewhere, drawn);
}
