//! The world model's size, its loss and its optimisation.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rem_worldmodel::optim::{adamw, sharded_gradients, DecayLinearWeights};
use rem_worldmodel::stream::with_thread_stream;
use rem_worldmodel::tokenizer::{TokenizerConfig, TokenizerTrainer, TokenizerTrainerConfig};
use rem_worldmodel::world_model::{RewardAdjustment, TokenBatch, WorldModel, WorldModelConfig};
use rem_worldmodel::world_model_trainer::{WorldModelTrainer, WorldModelTrainerConfig};

mod common;
use common::own_generator;

type B = Autodiff<Flex>;

#[test]
fn spec_world_model_has_about_4_8_million_parameters() {
    let _generator = own_generator();
    let model = WorldModelConfig::spec(18).init::<Flex>(&Default::default());
    let params = model.num_params();
    // Retention stack, heads, action table and prediction tokens; the 131,072
    // codebook entries it embeds with belong to the tokenizer.
    assert!(
        (4_500_000..4_900_000).contains(&params),
        "{params} parameters"
    );
    println!("spec world model (18 actions): {params} parameters");
}

fn tiny_model(device: &burn::tensor::Device<B>) -> WorldModel<B> {
    WorldModelConfig::tiny(4, 8, 3).init(device)
}

/// A codebook of the toy world's 8 tokens, 16 wide, as the world model embeds them.
fn toy_codebook(device: &burn::tensor::Device<B>) -> Tensor<B, 2> {
    Tensor::random([8, 16], Distribution::Normal(0.0, 1.0), device)
}

/// The backend seeded with `seed`, then a tiny model and a toy codebook drawn from it.
fn seeded_model_and_codebook(seed: u64) -> (burn::tensor::Device<B>, WorldModel<B>, Tensor<B, 2>) {
    let device = Default::default();
    B::seed(&device, seed);
    let model = tiny_model(&device);
    let codebook = toy_codebook(&device);
    (device, model, codebook)
}

/// A batch from a deterministic toy world: the next frame is the current one shifted
/// by the action, reward is +1 when token 0 wraps around.
fn toy_batch(
    device: &burn::tensor::Device<B>,
    rows: usize,
    blocks: usize,
    seed: u64,
) -> TokenBatch<B> {
    world_batch(device, rows, blocks, seed, true)
}

/// Rows of the toy world; with `moves` false every action leaves the frame as it is
/// (a still world, never rewarded). The last step of the last row is padding.
fn world_batch(
    device: &burn::tensor::Device<B>,
    rows: usize,
    blocks: usize,
    seed: u64,
    moves: bool,
) -> TokenBatch<B> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut tokens, mut actions, mut rewards): (Vec<i64>, Vec<i64>, Vec<f32>) =
        (vec![], vec![], vec![]);
    for _ in 0..rows {
        let mut frame: Vec<i64> = (0..4).map(|_| rng.random_range(0..8)).collect();
        for _ in 0..blocks {
            let action = rng.random_range(0..3i64);
            let shift = if moves { action } else { 0 };
            tokens.extend(&frame);
            actions.push(action);
            let wrapped = frame[0] + shift >= 8;
            rewards.push(if wrapped { 1.0f32 } else { 0.0 });
            frame.iter_mut().for_each(|t| *t = (*t + shift) % 8);
        }
    }
    let mut mask = vec![true; rows * blocks];
    mask[rows * blocks - 1] = false; // one padded step
    TokenBatch {
        tokens: Tensor::from_data(TensorData::new(tokens, [rows, blocks, 4]), device),
        actions: Tensor::from_data(TensorData::new(actions, [rows, blocks]), device),
        rewards: Tensor::from_data(TensorData::new(rewards, [rows, blocks]), device),
        ends: Tensor::<B, 2, Int>::zeros([rows, blocks], device),
        mask: Tensor::<B, 2, Bool>::from_data(TensorData::new(mask, [rows, blocks]), device),
        reward_adjustment: RewardAdjustment::None,
    }
}

#[test]
fn world_model_loss_falls_when_trained_on_a_toy_world() {
    let _generator = own_generator();
    let (device, mut model, codebook) = seeded_model_and_codebook(7);
    let mut optim = adamw::<B, WorldModel<B>>(0.0);
    let batch = toy_batch(&device, 8, 5, 3);
    let initial = model.loss(&codebook, &batch, 2);
    let initial_total: f32 = initial.total.clone().into_scalar();
    // A uniform predictor's token loss is ln(8).
    assert!((initial.obs.into_scalar() - 8f32.ln()).abs() < 0.5);
    for _ in 0..60 {
        let loss = model.loss(&codebook, &batch, 2);
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        model = model.map(&mut DecayLinearWeights::new(3e-3, 0.05));
        model = optim.step(3e-3, model, grads);
    }
    let last: f32 = model.loss(&codebook, &batch, 2).total.into_scalar();
    assert!(last < 0.5 * initial_total, "loss {initial_total} -> {last}");
}

#[test]
fn padding_and_context_blocks_carry_no_loss() {
    let _generator = own_generator();
    let (device, model, codebook) = seeded_model_and_codebook(8);
    let batch = toy_batch(&device, 2, 4, 5);
    let base: f32 = model.loss(&codebook, &batch, 2).total.into_scalar();
    // Changing what sits in a context block's targets or a padded step's targets
    // must not change the loss (inputs of context blocks do matter, so only the
    // padded last step's reward is altered here).
    let mut altered = batch.clone();
    let [rows, blocks] = batch.rewards.dims();
    let mut rewards: Vec<f32> = batch.rewards.clone().into_data().into_vec().unwrap();
    rewards[rows * blocks - 1] = -5.0;
    rewards[0] = -5.0; // block 0 is context
    altered.rewards = Tensor::from_data(TensorData::new(rewards, [rows, blocks]), &device);
    let after: f32 = model.loss(&codebook, &altered, 2).total.into_scalar();
    assert!((base - after).abs() < 1e-6, "{base} vs {after}");
}

/// Collects every float parameter's values, in visiting order.
struct Snapshot(Vec<Vec<f32>>);

impl<B: Backend> ModuleVisitor<B> for Snapshot {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0
            .push(param.val().into_data().convert::<f32>().into_vec().unwrap());
    }
}

#[test]
fn weight_decay_touches_linear_weights_only() {
    let _generator = own_generator();
    let device = Default::default();
    let model = tiny_model(&device);
    let mut before = Snapshot(vec![]);
    model.visit(&mut before);
    let decayed = model.map(&mut DecayLinearWeights::new(0.5, 1.0));
    let mut after = Snapshot(vec![]);
    decayed.visit(&mut after);
    let (mut halved, mut kept) = (0, 0);
    for (b, a) in before.0.iter().zip(&after.0) {
        if b.iter().zip(a).all(|(x, y)| (x * 0.5 - y).abs() < 1e-7) && b.iter().any(|x| *x != 0.0) {
            halved += 1;
        } else {
            assert_eq!(b, a, "a parameter was changed but not halved");
            kept += 1;
        }
    }
    // 2 layers x (5 retention + 2 FFN) linears + 3 heads x 2 linears.
    assert_eq!(halved, 2 * 7 + 6);
    assert!(kept > 0);
}

/// One parameter tensor, to watch what an optimiser does to it.
#[derive(Module, Debug)]
struct Probe<B: burn::tensor::backend::Backend> {
    weight: Param<Tensor<B, 1>>,
}

/// PyTorch's AdamW, first step from zero moments: m = (1 - b1) g, v = (1 - b2) g^2,
/// bias-corrected m_hat = g and v_hat = g^2, so
/// w' = w (1 - lr wd) - lr g / (|g| + eps).
fn torch_adamw_first_step(w: f64, g: f64, lr: f64, wd: f64, eps: f64) -> f64 {
    w * (1.0 - lr * wd) - lr * g / (g.abs() + eps)
}

#[test]
fn every_part_steps_with_pytorchs_adamw() {
    let _generator = own_generator();
    // Gradients of 1e-6 tell epsilon 1e-8 (a step of ~lr) from burn's default 1e-5
    // (a step of ~0.09 lr).
    let device = Default::default();
    let grads_of = [1e-6f32, -3e-6, 2e-4, -0.5];
    let (lr, wd) = (1e-2, 0.01);
    let mut optim = adamw::<B, Probe<B>>(wd as f32);
    let probe = Probe::<B> {
        weight: Param::from_tensor(Tensor::from_floats([1.0f32, 2.0, -1.0, 0.5], &device)),
    };
    let loss = (probe.weight.val() * Tensor::from_floats(grads_of, &device)).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &probe);
    let stepped = optim.step(lr, probe, grads);
    let got: Vec<f32> = stepped.weight.val().into_data().to_vec().unwrap();
    for ((&w, &g), got) in [1.0f32, 2.0, -1.0, 0.5].iter().zip(&grads_of).zip(got) {
        let want = torch_adamw_first_step(w as f64, g as f64, lr, wd, 1e-8);
        assert!(
            (got as f64 - want).abs() < 1e-6,
            "w {w}, g {g}: stepped to {got}, PyTorch's AdamW gives {want}"
        );
    }
}

/// Every float parameter's values and gradients, in visiting order, and whether it is
/// a `Linear`'s weight (the parameters the world model decays).
#[derive(Default)]
struct ValuesAndGrads {
    grads: Option<GradientsParams>,
    params: Vec<(Vec<f32>, Option<Vec<f32>>, bool)>,
    inside_linear: Vec<bool>,
}

impl ModuleVisitor<B> for ValuesAndGrads {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.inside_linear.push(container_type == "Struct:Linear");
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.inside_linear.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let values = param.val().into_data().to_vec().unwrap();
        let grad = self.grads.as_ref().and_then(|grads| {
            let grad = grads.get::<Flex, D>(param.id)?;
            Some(grad.into_data().to_vec().unwrap())
        });
        let linear_weight = D == 2 && self.inside_linear.last() == Some(&true);
        self.params.push((values, grad, linear_weight));
    }
}

#[test]
fn the_world_models_step_is_pytorchs_adamw_with_decay_on_linear_weights() {
    let _generator = own_generator();
    // REM's parameter groups: decay 0.05 on Linear weights, none elsewhere. A large
    // lr * wd tells decaying before the update (PyTorch) from decaying after it: they
    // differ by lr^2 * wd * update, here 0.1 * 0.1 * 1 = 0.01 for the largest updates.
    let (device, model, codebook) = seeded_model_and_codebook(4);
    let batch = toy_batch(&device, 4, 5, 2);
    let (lr, wd) = (0.1, 1.0);
    let config = WorldModelTrainerConfig {
        learning_rate: lr,
        weight_decay: wd,
        max_grad_norm: 1e9,
        context_blocks: 2,
        threads: 1,
    };
    // The loss materialises the lazily initialised parameters, so the clone shares them.
    let loss = model.loss(&codebook, &batch, 2);
    let mut before = ValuesAndGrads {
        grads: Some(GradientsParams::from_grads(loss.total.backward(), &model)),
        ..Default::default()
    };
    model.visit(&mut before);
    let (trained, _) = WorldModelTrainer::new(config).step(model, &codebook, &batch, 0);
    let mut after = Snapshot(vec![]);
    trained.visit(&mut after);
    let mut decayed = 0;
    for ((values, grad, linear_weight), stepped) in before.params.iter().zip(&after.0) {
        let grad = grad.as_ref().expect("every parameter has a gradient");
        let decay = if *linear_weight { wd } else { 0.0 };
        decayed += usize::from(*linear_weight);
        for ((&w, &g), &got) in values.iter().zip(grad).zip(stepped) {
            let want = torch_adamw_first_step(w as f64, g as f64, lr, decay, 1e-8);
            assert!(
                (got as f64 - want).abs() < 1e-5 * want.abs().max(1.0),
                "w {w}, g {g}, decay {decay}: stepped to {got}, PyTorch's AdamW gives {want}"
            );
        }
    }
    // 2 layers x (5 retention + 2 FFN) linears + 3 heads x 2 linears.
    assert_eq!(decayed, 2 * 7 + 6);
}

#[test]
fn the_trainers_build_their_optimiser_from_the_shared_adamw() {
    let _generator = own_generator();
    // The trainers' optimisers must behave exactly as `adamw` does: after one step on the
    // same gradients, a model trained by each trainer equals one stepped by `adamw`.
    let (device, model, codebook) = seeded_model_and_codebook(3);
    let batch = toy_batch(&device, 4, 5, 1);
    let config = WorldModelTrainerConfig {
        learning_rate: 1e-3,
        weight_decay: 0.05,
        max_grad_norm: 1e9,
        context_blocks: 2,
        threads: 1,
    };
    // The loss materialises the lazily initialised parameters, so the clone shares them.
    let loss = model.loss(&codebook, &batch, 2);
    let grads = GradientsParams::from_grads(loss.total.backward(), &model);
    let mut trainer = WorldModelTrainer::new(config.clone());
    let (trained, _) = trainer.step(model.clone(), &codebook, &batch, 0);
    let mut reference = adamw::<B, WorldModel<B>>(0.0);
    let decayed = model.map(&mut DecayLinearWeights::new(
        config.learning_rate,
        config.weight_decay,
    ));
    let expected = reference.step(config.learning_rate, decayed, grads);
    assert_same_params(&trained, &expected);

    let tokenizer = TokenizerConfig::tiny().init::<B>(&device);
    let frames: Tensor<B, 4> =
        Tensor::random([2, 3, 64, 64], Distribution::Uniform(0.0, 1.0), &device);
    let tk_config = TokenizerTrainerConfig {
        max_grad_norm: 1e9,
        ..TokenizerTrainerConfig::default()
    };
    let loss = tokenizer.loss(frames.clone());
    let grads = GradientsParams::from_grads(loss.total.backward(), &tokenizer);
    let mut tk_trainer = TokenizerTrainer::new(tk_config.clone());
    let (trained, _) = tk_trainer.step_tensor(tokenizer.clone(), frames, 0);
    let mut reference = adamw::<B, _>(tk_config.weight_decay);
    let expected = reference.step(tk_config.learning_rate, tokenizer, grads);
    assert_same_params(&trained, &expected);
}

#[test]
fn a_batch_split_over_threads_has_the_whole_batchs_loss_and_gradients() {
    let _generator = own_generator();
    let (device, model, codebook) = seeded_model_and_codebook(5);
    // Five rows, the last one padded at its end: shares of 2, 2 and 1 rows, each
    // with its own weight on the reward term.
    let mut batch = toy_batch(&device, 5, 5, 2);
    let weights = Tensor::from_floats([0.5, 1.0, 2.0, 3.0, 0.25], &device);
    batch.reward_adjustment = RewardAdjustment::RowWeights(weights);
    let whole = model.loss(&codebook, &batch, 2);
    let expected = GradientsParams::from_grads(whole.total.backward(), &model);

    let rows = batch.split_rows(3);
    assert_eq!(
        rows.iter().map(TokenBatch::rows).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    let steps = batch.loss_steps(2);
    let (grads, shares) = sharded_gradients(&model, rows, |model: &WorldModel<B>, rows| {
        let share = model.loss_share(&codebook, &rows, 2, steps.clone());
        (share.total.clone(), share)
    });
    let summed: f32 = shares
        .iter()
        .map(|share| share.total.clone().into_scalar())
        .sum();
    let whole_total = whole.total.into_scalar();
    assert!(
        (summed - whole_total).abs() < 1e-6 * whole_total.abs(),
        "shares add up to {summed}, the whole batch's loss is {whole_total}"
    );
    assert_same_grads(&model, &expected, &grads);
}

#[test]
fn steps_split_over_threads_are_reproducible() {
    let _generator = own_generator();
    let device = Default::default();
    B::seed(&device, 6);
    // With dropout: each share of a batch draws its masks from its own stream.
    let mut config = WorldModelConfig::tiny(4, 8, 3);
    config.retnet.dropout = 0.1;
    let model: WorldModel<B> = config.init(&device);
    let codebook = toy_codebook(&device);
    // The loss materialises the lazily initialised parameters, so the clones share them.
    with_thread_stream(0, || model.loss(&codebook, &toy_batch(&device, 1, 5, 0), 2));
    let trainer_config = WorldModelTrainerConfig {
        threads: 2,
        ..WorldModelTrainerConfig::default()
    };
    let train = || {
        let mut trainer = WorldModelTrainer::new(trainer_config.clone());
        let mut trained = model.clone();
        let mut totals = vec![];
        for seed in 0..3 {
            let batch = toy_batch(&device, 4, 5, seed);
            let (next, stats) = trainer.step(trained, &codebook, &batch, seed);
            trained = next;
            totals.push(stats.total);
        }
        (trained, totals)
    };
    let (first, first_totals) = train();
    let (second, second_totals) = train();
    assert_eq!(first_totals, second_totals);
    assert_same_params(&first, &second);
}

#[test]
fn the_chunk_length_of_the_training_pass_moves_only_the_rounding() {
    let _generator = own_generator();
    let device: burn::tensor::Device<B> = Default::default();
    let batch = toy_batch(&device, 3, 5, 4);
    // Chunks of 1, 2 and 3 blocks, and one chunk for all 5.
    let run = |chunk_blocks: usize| {
        B::seed(&device, 7);
        let config = WorldModelConfig {
            chunk_blocks,
            ..WorldModelConfig::tiny(4, 8, 3)
        };
        let model: WorldModel<B> = config.init(&device);
        let codebook = toy_codebook(&device);
        let loss = model.loss(&codebook, &batch, 2).total;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (loss.into_scalar(), gradients_in_order(&model, &grads))
    };
    let (one_loss, one_grads) = run(1);
    for chunk_blocks in [2, 3, 5] {
        let (loss, grads) = run(chunk_blocks);
        assert!(
            (loss - one_loss).abs() <= 1e-6 * one_loss.abs(),
            "chunks of {chunk_blocks} blocks: loss {loss}, of 1 block {one_loss}"
        );
        assert_eq!(grads.len(), one_grads.len());
        for (expected, actual) in one_grads.iter().zip(&grads) {
            assert_same_gradient(
                expected,
                actual,
                &format!("chunks of {chunk_blocks} blocks"),
            );
        }
    }
}

/// The gradient of every float parameter of `model`, in the order the module visits them.
fn gradients_in_order(model: &WorldModel<B>, grads: &GradientsParams) -> Vec<Vec<f32>> {
    struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor<B> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let grad = self
                .0
                .get::<Flex, D>(param.id)
                .expect("a parameter lacks a gradient");
            self.1.push(grad.into_data().to_vec().unwrap());
        }
    }
    let mut collect = Collect(grads, vec![]);
    model.visit(&mut collect);
    collect.1
}

/// Every parameter of `model` has a gradient in both `a` and `b`, equal to within
/// float rounding (relative to the largest entry of the gradient).
fn assert_same_grads(model: &WorldModel<B>, a: &GradientsParams, b: &GradientsParams) {
    let (expected, actual) = (gradients_in_order(model, a), gradients_in_order(model, b));
    for (x, y) in expected.iter().zip(&actual) {
        assert_same_gradient(x, y, "the second gradients against the first");
    }
}

/// `actual` equals `expected` to within float rounding: 1e-5 of `expected`'s largest entry.
fn assert_same_gradient(expected: &[f32], actual: &[f32], context: &str) {
    let scale = expected.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
    let worst = expected
        .iter()
        .zip(actual)
        .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
    assert!(
        worst <= 1e-5 * scale,
        "{context}: a gradient differs by {worst} (scale {scale})"
    );
}

/// Every float parameter of `a` equals the one of `b` at the same place.
fn assert_same_params<M: Module<B>>(a: &M, b: &M) {
    #[derive(Default)]
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.val().into_data().to_vec().unwrap());
        }
    }
    let (mut left, mut right) = (Collect::default(), Collect::default());
    a.visit(&mut left);
    b.visit(&mut right);
    assert_eq!(left.0.len(), right.0.len());
    for (x, y) in left.0.iter().zip(&right.0) {
        let worst = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-7, "a parameter differs by {worst}");
    }
}

#[test]
fn every_layer_has_its_own_gradient_from_the_first_step() {
    let _generator = own_generator();
    // The layers start as copies of one layer: unless each copy is an autodiff leaf of
    // its own, the first backward pass hands one layer the sum of all the layers'
    // gradients and the others none.
    let (device, model, codebook) = seeded_model_and_codebook(5);
    let loss = model.loss(&codebook, &toy_batch(&device, 3, 5, 2), 2);
    let grads = GradientsParams::from_grads(loss.total.backward(), &model);
    struct Count<'a>(&'a GradientsParams, usize, usize);
    impl ModuleVisitor<B> for Count<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.1 += 1;
            self.2 += usize::from(self.0.get::<Flex, D>(param.id).is_some());
        }
    }
    let mut count = Count(&grads, 0, 0);
    model.visit(&mut count);
    assert_eq!(count.2, count.1, "parameters with a gradient, of all");
}

/// Share of the scored frames' tokens whose most likely prediction is right.
fn tokens_right(model: &WorldModel<B>, codebook: &Tensor<B, 2>, batch: &TokenBatch<B>) -> f32 {
    let out = model.forward_train(codebook, batch.tokens.clone(), batch.actions.clone(), 2);
    let [rows, blocks, k] = batch.tokens.dims();
    let predicted = out.obs_logits.argmax(3).reshape([rows, blocks - 2, k]);
    let truth = batch.tokens.clone().narrow(1, 2, blocks - 2);
    predicted.equal(truth).float().mean().into_scalar()
}

/// The option `prediction_sees_frame_before` puts "nothing moves" one step from POP's
/// input: trained on still worlds, the model forecasts still frames it never saw,
/// which the spec's prediction tokens, reading them only through retention, do not
/// in as many steps. With these seeds: 100% of the tokens right with the option, 42.6%
/// without; with other draws of the codebook and the initial weights 98.96-100% in
/// nine draws, 30-49% without (in 60 steps one draw of five reached 96.6%).
#[test]
fn prediction_tokens_that_see_the_frame_before_learn_a_still_world() {
    let _generator = own_generator();
    const STILL_STEPS: u64 = 100;
    let device = Default::default();
    B::seed(&device, 3);
    let codebook = toy_codebook(&device);
    let fresh = world_batch(&device, 64, 5, 1_000, false);
    let trained_right = |sees_frame_before: bool| {
        B::seed(&device, 7);
        let config = WorldModelConfig {
            prediction_sees_frame_before: sees_frame_before,
            ..WorldModelConfig::tiny(4, 8, 3)
        };
        let mut model = config.init::<B>(&device);
        let mut optim = adamw::<B, WorldModel<B>>(0.0);
        for step in 0..STILL_STEPS {
            let batch = world_batch(&device, 8, 5, step, false);
            let loss = model.loss(&codebook, &batch, 2);
            let grads = GradientsParams::from_grads(loss.total.backward(), &model);
            model = optim.step(3e-3, model, grads);
        }
        tokens_right(&model, &codebook, &fresh)
    };
    let (seeing, spec) = (trained_right(true), trained_right(false));
    println!("still frames right after {STILL_STEPS} steps: {seeing} seeing the frame before, {spec} without");
    assert!(seeing >= 0.99, "{seeing} of the tokens right");
    assert!(
        spec < seeing - 0.2,
        "without the frame before: {spec}, with it: {seeing}"
    );
}

/// Rows of a still world whose rewards carry no information: rows `0..2` are
/// rewarded at every step (as rows drawn among rewarded segments), each other row
/// with probability 0.1 (as uniform draws from a store with one rewarded segment in
/// ten). `adjust` gives the reward adjustment from the rows' rewarded flags.
fn oversampled_batch(
    device: &burn::tensor::Device<B>,
    seed: u64,
    adjust: &dyn Fn(&[bool]) -> RewardAdjustment<B>,
) -> TokenBatch<B> {
    let (rows, blocks) = (8, 5);
    let mut batch = world_batch(device, rows, blocks, seed, false);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let rewarded: Vec<bool> = (0..rows)
        .map(|row| row < 2 || rng.random_bool(0.1))
        .collect();
    let rewards: Vec<f32> = rewarded
        .iter()
        .flat_map(|&r| [if r { 1.0 } else { 0.0 }; 5])
        .collect();
    batch.rewards = Tensor::from_data(TensorData::new(rewards, [rows, blocks]), device);
    batch.reward_adjustment = adjust(&rewarded);
    batch
}

/// The tiny model's mean p(+1) after training its reward on fresh oversampled batches.
fn learned_reward_rate(adjust: &dyn Fn(&[bool]) -> RewardAdjustment<B>) -> f32 {
    let (device, mut model, codebook) = seeded_model_and_codebook(11);
    let mut optim = adamw::<B, WorldModel<B>>(0.0);
    for step in 0..200 {
        let batch = oversampled_batch(&device, step, adjust);
        let loss = model.loss(&codebook, &batch, 2);
        let grads = GradientsParams::from_grads(loss.reward.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    let batch = world_batch(&device, 64, 5, 999, false);
    let out = model.forward_train(&codebook, batch.tokens, batch.actions, 2);
    let p = burn::tensor::activation::softmax(out.reward_logits, 2).narrow(2, 2, 1);
    p.mean().into_scalar()
}

#[test]
fn importance_weights_and_the_sign_shift_learn_the_uniform_reward_rate() {
    let _generator = own_generator();
    let device: burn::tensor::Device<B> = Default::default();
    // Drawn as above, a step is rewarded with probability (2 + 6 x 0.1) / 8 = 0.325;
    // drawn uniformly, 0.1. Importance weights of the mixture (rem_envs
    // RewardedSegments): 8 / (6 + 2 / 0.1) in the rewarded segments, 8 / 6 outside.
    let as_drawn = learned_reward_rate(&|_| RewardAdjustment::None);
    let weighted = learned_reward_rate(&|rewarded| {
        let w: Vec<f32> = rewarded
            .iter()
            .map(|&r| if r { 8.0 / 26.0 } else { 8.0 / 6.0 })
            .collect();
        RewardAdjustment::RowWeights(Tensor::from_floats(w.as_slice(), &device))
    });
    let shift = [0.0, (0.675f32 / 0.9).ln(), (0.325f32 / 0.1).ln()];
    let shifted =
        learned_reward_rate(&|_| RewardAdjustment::SignShift(Tensor::from_floats(shift, &device)));
    println!("p(+1): as drawn {as_drawn}, weighted {weighted}, shifted {shifted}");
    assert!(
        (as_drawn - 0.325).abs() < 0.07,
        "as drawn: p(+1) = {as_drawn}"
    );
    assert!(
        (weighted - 0.1).abs() < 0.04,
        "importance weights: p(+1) = {weighted}"
    );
    assert!(
        (shifted - 0.1).abs() < 0.04,
        "sign shift: p(+1) = {shifted}"
    );
}
