#!/usr/bin/env python3
"""PyTorch reference for `rem bench phases`: seconds of one optimisation step of each
training phase, and of one acting step, at the same sizes and batches.

    python3 scripts/torch_phases.py --size spec --iterations 2

Models are scripts/torch_imagine.py's; steps are rem's Learner's (agent/src/learner.rs)
as agent/src/bench/phases.rs times them: a warm-up step, then --iterations timed ones, on
a store of 1,000 random frames in episodes of 200. Per step:
  acting        models.rs, AgentModels::act: one frame to floats on the host, encode,
                policy, an action drawn on the host (epsilon 0.01) fed to the LSTM.
  tokenizer     tokenizer/{train,mod,quantizer,lpips}.rs: 128 frames; MSE + codebook +
                commitment, straight-through, + LPIPS (--perceptual lpips, the spec's
                default: VGG16 from rem's weights file, frozen, dropout 0.5 on the
                squared differences as REM trains it; --perceptual none without it).
  world_model   world_model{,_trainer}.rs, retnet.rs, retention/: 64 segments of 10
                blocks; distinct frames encoded once by the frozen tokenizer (an empty
                TokenCache, batches.rs), tokens through the host; real tokens chunkwise
                (3 blocks a chunk, --chunk-blocks) keeping the state after each block,
                then one read-only pass of blocks 2..9's prediction tokens (8 x 64 rows,
                each at its own rotary position); CE of tokens, reward sign and end over
                blocks 2..9 and real steps; dropout 0.1 where rem has it.
  actor_critic  imagination/{actor_critic_trainer,rollout,returns}.rs: 128 segments of 21
                frames encoded as above, burn-in without gradient, POP imagination of
                horizon 10 (9 observations; world model and tokenizer under no_grad, the
                controller's graph recorded), lambda-returns, policy + value - entropy.
Then (worldmodel/src/optim.rs) backward, global norm clip (10, 100, 3), AdamW (betas
0.9/0.999, eps 1e-8, decay 0.01 on all but the world model, whose Linear weights alone
are scaled by 1 - lr x 0.05 after the step), losses and norm read back to the host.
Lines have rem's format, projected with the spec's schedule (agent/src/config/).
`small` is `rem bench phases --set` tokenizer.vocab=64 tokenizer.embed_dim=32
tokenizer.base_channels=8 world_model.layers=2 world_model.heads=2 world_model.ffn=128
actor_critic.conv1=8 actor_critic.conv2=4 actor_critic.hidden=16 actor_critic.lstm=16.
`atari-cpu` is `rem bench phases --config runs/atari-cpu/Boxing.toml` with the steps made
the same as here (--set world_model.dropout=0.1 actor_critic.burn_in=20
actor_critic.standardize_input=false actor_critic.expected_outcomes=false) and the
file's batches passed on (--tokenizer-batch 16 --world-model-batch 8
--actor-critic-batch 16); the schedule projected is still the spec's.

Deliberate differences from rem: the token cache is torch.unique over store indices
(rem hashes frame bytes on the host); PyTorch's initialisations; float32 with PyTorch's
default TF32 settings; decay factors broadcast over the batch where rem repeats some per
row; --device defaults to cuda where available.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_imagine import (FRAME_SIDE, SIZES, PopImagination, build_models,  # noqa: E402
                           imagine_from_tokens, print_parameter_counts)

# The spec's run configuration (agent/src/config/ and the model crates' defaults).
EPOCHS, COLLECT_UNTIL_EPOCH, COLLECT_STEPS, ENVS = 600, 500, 200, 1
ACT_TEMPERATURE, ACT_EPSILON = 1.0, 0.01
OPTIM = {  # lr, weight decay, gradient clip, batch, steps per epoch, first epoch
    "tokenizer": dict(lr=1e-4, decay=0.01, clip=10.0, batch=128, steps=200, start=6),
    "world_model": dict(lr=2e-4, decay=0.05, clip=100.0, batch=64, steps=200, start=26),
    "actor_critic": dict(lr=1e-4, decay=0.01, clip=3.0, batch=128, steps=100, start=51),
}
SEQ_BLOCKS, CONTEXT_BLOCKS, CHUNK_BLOCKS, DROPOUT = 10, 2, 3, 0.1
BURN_IN, HORIZON, CONTEXT_FRAMES = 20, 10, 2
GAMMA, LAMBDA, ENTROPY_WEIGHT = 0.995, 0.95, 0.001
STORE_STEPS, EPISODE = 1_000, 200

# Random frames and segments (agent/src/bench/phases.rs, envs/src/store/sample.rs)


class Store:
    """STORE_STEPS random steps in episodes of EPISODE; index STORE_STEPS is padding
    (a zero frame, action 0, reward 0, no end)."""

    def __init__(self, n_actions, rng):
        steps = STORE_STEPS + 1
        self.frames = torch.randint(0, 256, (steps, FRAME_SIDE, FRAME_SIDE, 3), dtype=torch.uint8,
                                    generator=rng)
        self.frames[-1] = 0
        self.actions = torch.randint(0, n_actions, (steps,), generator=rng)
        self.rewards = torch.rand(steps, generator=rng) * 2.0 - 1.0
        self.ends = torch.arange(steps) % EPISODE == EPISODE - 1
        self.actions[-1], self.rewards[-1], self.ends[-1] = 0, 0.0, False

    def segments(self, rng, batch, length, left, min_real):
        """Store indices [batch, length] and the real-step mask: anchors uniform over
        every episode's valid ones, padded on the right (or left, if `left`)."""
        need = min(max(min_real, 1), length)
        valid = EPISODE - need + 1
        draw = torch.randint(0, (STORE_STEPS // EPISODE) * valid, (batch,), generator=rng)
        episode, offset = draw // valid, draw % valid
        first = offset + need - length if left else offset
        steps = first[:, None] + torch.arange(length)
        real = (steps >= 0) & (steps < EPISODE)
        return torch.where(real, episode[:, None] * EPISODE + steps, STORE_STEPS), real


def to_pixels(frames, device):
    """[N, 64, 64, 3] bytes on the host -> [N, 3, 64, 64] in [0, 1] on the device."""
    return frames.permute(0, 3, 1, 2).float().div(255.0).contiguous().to(device)


def encode_once(tokenizer, store, index, device):
    """An empty TokenCache: each distinct frame encoded once, tokens through the host."""
    unique, inverse = torch.unique(index, return_inverse=True)
    with torch.no_grad():
        codes = tokenizer.encode(to_pixels(store.frames[unique], device)).cpu()
    return codes[inverse].to(device)


def descend(model, optimizer, losses, clip):
    """Backward on losses[0], global gradient-norm clip, AdamW step; then the losses and
    the norm before clipping read back, each .item() waiting for the device as rem's do."""
    optimizer.zero_grad(set_to_none=True)
    losses[0].backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return [x.detach().item() for x in (*losses, norm)]


def adamw(model, phase):
    decay = 0.0 if phase == "world_model" else OPTIM[phase]["decay"]  # see world_model_step
    return torch.optim.AdamW(model.parameters(), lr=OPTIM[phase]["lr"], betas=(0.9, 0.999),
                             eps=1e-8, weight_decay=decay)


def masked_mean(values, weights):
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


# Tokenizer


class Lpips(nn.Module):
    """LPIPS on VGG16 as rem computes it (worldmodel/src/tokenizer/lpips/): scaling
    layer, the 13 frozen 3x3 convolutions with ReLU and a 2x2 max-pool after taps 1-4,
    unit-normalised channels at the five taps, dropout on the squared differences (in
    train mode), the linear layers' channel weights, spatial means, summed."""

    CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
    TAPS = (1, 3, 6, 9, 12)

    def __init__(self, path):
        super().__init__()
        tensors = read_safetensors(path)
        inputs = (3,) + self.CHANNELS[:-1]
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c_out, 3, padding=1)
                                   for c_in, c_out in zip(inputs, self.CHANNELS))
        with torch.no_grad():
            for i, conv in enumerate(self.convs):
                conv.weight.copy_(tensors[f"conv{i}.weight"])
                conv.bias.copy_(tensors[f"conv{i}.bias"])
        self.lins = nn.ParameterList(tensors[f"lin{l}.weight"].view(1, -1, 1, 1)
                                     for l in range(len(self.TAPS)))
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def features(self, x):
        h, taps = (x - self.shift) / self.scale, []
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            if i in self.TAPS:
                taps.append(h)
                if i != self.TAPS[-1]:
                    h = F.max_pool2d(h, 2)
        return taps

    @staticmethod
    def unit(f):
        """Each position's channel vector divided by its length (plus 1e-10)."""
        return f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)

    def forward(self, x, y):
        """d(x, y) per frame, [N]; x and y [N, 3, H, W] in [-1, 1]."""
        total = 0.0
        for fx, fy, lin in zip(self.features(x), self.features(y), self.lins):
            squared = F.dropout((self.unit(fx) - self.unit(fy)).pow(2), 0.5, training=True)
            total = total + (squared * lin).sum(1).mean((1, 2))
        return total


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file (what scripts/lpips_weights.py writes)."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        values = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors


def tokenizer_loss(tokenizer, frames, lpips=None):
    target = frames * 2.0 - 1.0
    z = tokenizer.encoder(target)
    with torch.no_grad():  # selection only: rem keeps the distances off the tape
        tokens = tokenizer.nearest_codes(z)
    z_q = tokenizer.latent_map(tokens)
    reconstruction = tokenizer.decoder(z + (z_q - z).detach())
    codebook = (z.detach() - z_q).pow(2).mean()
    commitment = (z - z_q.detach()).pow(2).mean()
    mse = (target - reconstruction).pow(2).mean()
    total = mse + codebook + commitment
    if lpips is None:
        return total, mse, codebook, commitment
    perceptual = lpips(target, reconstruction).mean()
    return total + perceptual, mse, codebook, commitment, perceptual


def tokenizer_step(models, optimizer, store, rng, batch, device):
    tokenizer, lpips = models[0], models[3]
    index, _ = store.segments(rng, batch, 1, False, 1)
    losses = tokenizer_loss(tokenizer, to_pixels(store.frames[index[:, 0]], device), lpips)
    return descend(tokenizer, optimizer, losses, OPTIM["tokenizer"]["clip"])


# World model: the training forms of retention (worldmodel/src/retention/)


def project_rows(msr, x, first):
    """q, k, v [B, heads, T, head_dim] as MultiScaleRetention.project, row b's first
    token at position first[b]."""
    batch, time, _ = x.shape
    steps = first[:, None] + torch.arange(time, device=x.device, dtype=x.dtype)
    angle = (steps[:, :, None] * msr.theta)[:, None]  # [B, 1, T, head_dim]
    cos, sin = angle.cos(), angle.sin()

    def heads(t):
        return t.view(batch, time, msr.n_heads, msr.head_dim).transpose(1, 2)

    def rotate(t):
        pairs = t.unflatten(-1, (-1, 2))
        return t * cos + torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2) * sin

    return rotate(heads(msr.query(x))), rotate(heads(msr.key(x))) * msr.head_dim ** -0.5, heads(msr.value(x))


def retain(log_gamma, q, k, v, memory):
    """Tokens after `memory`, causal among themselves (retention/parallel.rs, retain)."""
    steps = torch.arange(q.shape[2], device=q.device, dtype=q.dtype)
    distance = steps[:, None] - steps[None, :]
    log_gamma = log_gamma[:, None, None]
    causal = torch.exp(log_gamma * distance.clamp(min=0)) * (distance >= 0)
    incoming = torch.exp(log_gamma * (steps + 1)[:, None])
    return ((q @ k.transpose(-1, -2)) * causal) @ v + (q @ memory) * incoming


def advance(log_gamma, memory, k, v):
    """The memory after tokens k, v (retention/parallel.rs, advance_memory)."""
    time = k.shape[2]
    steps = torch.arange(time, device=k.device, dtype=k.dtype)
    weights = torch.exp(log_gamma[:, None, None] * (time - 1 - steps)[:, None])
    return memory * torch.exp(log_gamma * time)[:, None, None] + (k * weights).transpose(-1, -2) @ v


def chunkwise_checkpoints(msr, x, chunk_len, every):
    """Retention output from the zero state, chunk by chunk, and the memory after every
    `every` tokens (MultiScaleRetention::forward_chunkwise_with_checkpoints)."""
    batch, time, _ = x.shape
    q, k, v = project_rows(msr, x, x.new_zeros(batch))
    memory = x.new_zeros(batch, msr.n_heads, msr.head_dim, msr.head_dim)
    outputs, checkpoints = [], []
    for start in range(0, time, chunk_len):
        end = min(start + chunk_len, time)
        qc, kc, vc = (t[:, :, start:end] for t in (q, k, v))
        outputs.append(retain(msr.log_gamma, qc, kc, vc, memory))
        for at in range((start // every + 1) * every, end, every):  # inside the chunk
            checkpoints.append(advance(msr.log_gamma, memory, kc[:, :, : at - start], vc[:, :, : at - start]))
        memory = advance(msr.log_gamma, memory, kc, vc)
        if end % every == 0:
            checkpoints.append(memory)
    return torch.cat(outputs, 2), checkpoints


def apply_layer(layer, x, retention):
    """RetNetLayer::apply in training: dropout on the retention output before its norm,
    after the retention block, inside and after the feed-forward."""
    n = layer.retention_norm(x)
    retained, extra = retention(n)
    h = x + F.dropout(layer.retention.finish(n, F.dropout(retained, DROPOUT)), DROPOUT)
    hidden = F.dropout(F.silu(layer.ffn_in(layer.ffn_norm(h))), DROPOUT)
    return h + F.dropout(layer.ffn_out(hidden), DROPOUT), extra


def world_model_loss(world_model, codebook, tokens, actions, rewards, ends, mask):
    """WorldModel::loss: the POP training pass and its masked cross-entropies."""
    batch, blocks, k = tokens.shape
    block_len, predicted = k + 1, blocks - CONTEXT_BLOCKS
    x = world_model.embed_blocks(codebook, tokens, actions)
    memories = []  # per layer: the memories of the predicted blocks, rows (block, batch row)
    for layer in world_model.retnet.layers:
        x, checkpoints = apply_layer(layer, x, lambda n: chunkwise_checkpoints(
            layer.retention, n, world_model.chunk_blocks * block_len, block_len))
        memories.append(torch.cat(checkpoints[CONTEXT_BLOCKS - 1: blocks - 1]))
    reward_logits, done_logits = world_model.outcome(x.view(batch, blocks, block_len, -1)[:, :, k])

    first = torch.arange(CONTEXT_BLOCKS, blocks, device=x.device) * block_len
    first = first.repeat_interleave(batch).float()
    y = world_model.prediction_tokens[:k].expand(predicted * batch, -1, -1)
    for layer, memory in zip(world_model.retnet.layers, memories):
        y, _ = apply_layer(layer, y, lambda n: (retain(
            layer.retention.log_gamma, *project_rows(layer.retention, n, first), memory), None))
    obs_logits = world_model.obs_head(y).view(predicted, batch, k, -1).transpose(0, 1)

    def nll(logits, targets):
        return F.cross_entropy(logits.flatten(0, -2), targets.flatten(), reduction="none").view(targets.shape)

    later, weights = slice(CONTEXT_BLOCKS, None), mask[:, CONTEXT_BLOCKS:].float()
    obs = masked_mean(nll(obs_logits, tokens[:, later]).mean(2), weights)
    reward = masked_mean(nll(reward_logits[:, later], (rewards.sign() + 1.0).long()[:, later]), weights)
    done = masked_mean(nll(done_logits[:, later], ends[:, later].long()), weights)
    return obs + reward + done, obs, reward, done


def world_model_step(models, optimizer, store, rng, batch, device):
    tokenizer, world_model, _, _ = models
    index, real = store.segments(rng, batch, SEQ_BLOCKS, False, CONTEXT_BLOCKS + 1)
    tokens = encode_once(tokenizer, store, index, device)
    rewards, ends = store.rewards[index].to(device), store.ends[index].to(device)
    losses = world_model_loss(world_model, tokenizer.codebook.weight.detach(), tokens,
                              store.actions[index].to(device), rewards, ends, real.to(device))
    o = OPTIM["world_model"]
    stats = descend(world_model, optimizer, losses, o["clip"])
    with torch.no_grad():  # DecayLinearWeights (optim.rs): Linear weights only, after the step
        for module in world_model.modules():
            if isinstance(module, nn.Linear):
                module.weight.mul_(1.0 - o["lr"] * o["decay"])
    return stats


# Actor-critic


def lambda_returns(rewards, continues, values):
    """returns.rs: G_t = r_t + gamma c_t ((1 - lambda) V_{t+1} + lambda G_{t+1}), G_H = V_H."""
    next_return, columns = values[:, -1], []
    for t in reversed(range(rewards.shape[1])):
        blended = values[:, t + 1] * (1.0 - LAMBDA) + next_return * LAMBDA
        next_return = rewards[:, t] + continues[:, t] * GAMMA * blended
        columns.append(next_return)
    return torch.stack(columns[::-1], dim=1)


def actor_critic_loss(logits, actions, values, returns):
    """actor_critic/loss.rs over every step (an all-true mask, as the trainer passes)."""
    weights, returns = torch.ones_like(values), returns.detach()
    log_probs = F.log_softmax(logits, dim=2)
    taken = log_probs.gather(2, actions[..., None]).squeeze(2)
    policy = -masked_mean(taken * (returns - values.detach()), weights)
    entropy = masked_mean(-(log_probs.exp() * log_probs).sum(2), weights)
    value = masked_mean((values - returns).pow(2), weights)
    return policy + value - ENTROPY_WEIGHT * entropy, policy, value, entropy


def actor_critic_step(models, optimizer, store, rng, batch, device):
    tokenizer, world_model, controller, _ = models
    index, real = store.segments(rng, batch, BURN_IN + 1, True, CONTEXT_FRAMES)
    tokens = encode_once(tokenizer, store, index, device)
    actions, mask = store.actions[index].to(device), real.to(device)
    with torch.no_grad():  # the controller records its graph inside (controller_grad)
        rollout = imagine_from_tokens(tokenizer, world_model, controller, tokens, actions, mask,
                                      HORIZON + 1 - CONTEXT_FRAMES, PopImagination, rng, True)
    steps = rollout["rewards"].shape[1]
    returns = lambda_returns(rollout["rewards"], rollout["continues"], rollout["values"].detach())
    losses = actor_critic_loss(rollout["logits"][:, :steps], rollout["actions"][:, :steps],
                               rollout["values"][:, :steps], returns)
    return descend(controller, optimizer, (*losses, rollout["rewards"].mean()), OPTIM["actor_critic"]["clip"])


# Acting, timing and the report


def act(tokenizer, controller, frames, state, rng, device):
    """AgentModels::act for one step of len(frames) environments, without gradient."""
    with torch.no_grad():
        latents = tokenizer.latent_map(tokenizer.encode(to_pixels(frames, device)))
        logits, _, state = controller.observe(latents, state)
        probs = F.softmax(logits.float().cpu() / ACT_TEMPERATURE, dim=-1)
        drawn = torch.multinomial(probs, 1, generator=rng).squeeze(1)
        random = torch.rand(len(frames), generator=rng) < ACT_EPSILON
        uniform = torch.randint(0, probs.shape[1], (len(frames),), generator=rng)
        return controller.feed_action(torch.where(random, uniform, drawn).to(device), state)


def seconds_per_call(call, calls, sync):
    call()  # warm-up: allocation, cuDNN algorithm choice
    sync()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    sync()
    return (time.perf_counter() - started) / calls


def time_acting(models, rng, iterations, device, sync):
    """phases.rs, time_acting: ENVS random frames, one warm-up step, 20 x iterations timed."""
    tokenizer, _, controller, _ = models
    frames = torch.randint(0, 256, (ENVS, FRAME_SIDE, FRAME_SIDE, 3), dtype=torch.uint8, generator=rng)
    zeros = torch.zeros(ENVS, controller.lstm.hidden_size, device=device)
    state = [(zeros, zeros)]

    def act_once():
        state[0] = act(tokenizer, controller, frames, state[0], rng, device)

    return seconds_per_call(act_once, 20 * iterations, sync)


def report_line(phase, work, seconds, steps):
    print(f"{phase:<13} {work:<22} {seconds:>9.4f} s/step  x {steps:>4} = {seconds * steps:>9.2f} s/epoch",
          flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="spec")
    parser.add_argument("--iterations", type=int, default=2, help="timed steps after one warm-up")
    parser.add_argument("--actions", type=int, default=18)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perceptual", choices=("lpips", "none"), default="lpips",
                        help="the tokenizer's perceptual term (rem's tokenizer.perceptual)")
    parser.add_argument("--lpips-weights", default="weights/lpips_vgg16.safetensors",
                        help="the file scripts/lpips_weights.py writes")
    parser.add_argument("--chunk-blocks", type=int, default=CHUNK_BLOCKS,
                        help="blocks per chunk of the world model's training pass "
                             "(rem's world_model.chunk_blocks)")
    for phase in OPTIM:
        parser.add_argument(f"--{phase.replace('_', '-')}-batch", type=int, default=OPTIM[phase]["batch"])
    return parser.parse_args()


PHASES = (("tokenizer", 0, tokenizer_step, "{} frames"),  # phase, trained model, step, work
          ("world_model", 1, world_model_step, f"{{}} x {SEQ_BLOCKS} blocks"),
          ("actor_critic", 2, actor_critic_step, f"{{}} rows, horizon {HORIZON}"))


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    models = build_models(args.size, args.actions, device)
    print_parameter_counts(*models, args.actions)
    models[1].chunk_blocks = args.chunk_blocks
    lpips = Lpips(args.lpips_weights).to(device) if args.perceptual == "lpips" else None
    models = (*models, lpips)
    rng = torch.Generator().manual_seed(args.seed)
    store = Store(args.actions, rng)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"phase benchmark: {args.iterations} timed steps of each phase after one warm-up, "
          f"{args.device} ({name}, PyTorch {torch.__version__}), {args.size} sizes", flush=True)
    acting, act_steps = time_acting(models, rng, args.iterations, device, sync), -(-COLLECT_STEPS // ENVS)
    report_line("acting", f"{ENVS} env(s), one step", acting, act_steps)
    costs = [(acting * act_steps, COLLECT_UNTIL_EPOCH)]  # (seconds an epoch, epochs it runs in)
    for phase, trained, step, work in PHASES:
        optimizer, batch, o = adamw(models[trained], phase), getattr(args, f"{phase}_batch"), OPTIM[phase]
        seconds = seconds_per_call(lambda: step(models, optimizer, store, rng, batch, device),
                                   args.iterations, sync)
        report_line(phase, work.format(batch), seconds, o["steps"])
        costs.append((seconds * o["steps"], EPOCHS - o["start"] + 1))
    run_hours = sum(cost * epochs for cost, epochs in costs) / 3600.0
    print(f"epoch with every phase: {sum(cost for cost, _ in costs):.1f} s; "
          f"the {EPOCHS}-epoch schedule: {run_hours:.2f} h")


if __name__ == "__main__":
    main()
