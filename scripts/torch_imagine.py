#!/usr/bin/env python3
"""PyTorch reference for `rem bench imagine`: imagined frames per second of the whole
actor-critic imagination call, POP against token-by-token, at the same model sizes.

    python3 scripts/torch_imagine.py --size spec --batch 128 --horizon 10 --iterations 3

One call does what actor-critic training does in rem (agent/src/imagination/rollout.rs,
driven by agent/src/bench/imagine.rs), from real frames on:

  1. convert the segments' frames (21 per segment, random bytes) to [0, 1] floats on the
     host, move them to the device, and tokenize them: encoder, then the nearest
     codebook vector of each of the 64 cells;
  2. burn the controller's LSTM in over the first 20 frames, feeding each frame's
     codebook map and then the action taken on it (two LSTM steps per frame);
  3. act on the last real frame, build the world model's state from the context
     [o_{T-2}, a_{T-2}, o_{T-1}, a], then imagine `horizon - 2` frames while the
     controller acts on each (it reads the codebook map; no frame is decoded).
     `horizon` counts the world model's blocks with the 2 context frames, as in REM
     and rem: 9 observations for horizon 10.
       POP: one read-only pass of the 64 prediction tokens against the recurrent
            retention state samples all 64 tokens of the next frame at once, then the
            65 real tokens [o, a] run as one chunk and write the next state;
       token-by-token (IRIS-style): 64 sequential one-token recurrent calls per frame,
            each sampling a token and feeding it back, then one for the action.
     Every transition's reward sign and termination are sampled too.

As in rem, each call prints its seconds, the generated frames/s (batch * (horizon - 2) /
seconds: a row's first observation is a real frame) and batch * horizon / seconds, the
unit of REM's figures; one warm-up call per generator is not timed. The output lines
have the format of rem's (`cargo bench -p rem-benches --bench imagine` reads them).

Sizes: `spec` is ModelShapes::spec (agent/src/models.rs): tokenizer of algorithm.md, section 2
(vocab 512, codes of 256, channels 32-64-128-256), RetNet of 5 layers x 4 heads, width
256, FFN 1024, 64 tokens per frame, and the controller of section 4 (conv 256->128->64,
linear 4096->512, LSTM 512). `small` is ModelShapes::small: TokenizerConfig::tiny (vocab
64, codes of 32, channels 8-16-32-64), a RetNet of 2 layers x 2 heads, width 32, FFN
128, still 64 tokens per frame, and the tiny controller (conv 32->8->4, linear 256->16,
LSTM 16). 18 actions unless --actions says otherwise, as in rem.

Parameter counts: `rem bench imagine` prints none; rem's own size tests give, for the
spec sizes and 18 actions, tokenizer 3,189,667 (worldmodel/tests/tokenizer_model.rs),
world model 4,629,253 of which the RetNet stack is 4,277,760
(worldmodel/tests/world_model_training.rs, worldmodel/tests/retnet_params.rs), and
actor-critic 4,586,707 (agent/tests/actor_critic_model.rs). This script builds the same
layers (the tokenizer's decoder included, though imagination never runs it) and prints
its counts, which equal these.

Deliberate differences from rem:
  - Everything runs under torch.no_grad(). rem runs the controller on its autodiff
    backend during the imagined steps (not during burn-in), so it records a graph that
    this benchmark never differentiates; --controller-grad records it here too.
  - float32 with PyTorch's default TF32 settings (cuDNN convolutions may use TF32,
    matmuls do not).
Alike on purpose: actions are sampled on the host from logits copied there (rem does so
for reproducible draws), tokens, rewards and terminations on the device; decay masks
and rotary angles are computed at each call, as rem does; the weights are random.
"""

import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FRAME_SIDE = 64
SEGMENT = 21  # real frames per segment: 20 of burn-in plus the first observation

SIZES = {
    "spec": dict(vocab=512, embed_dim=256, channels=(32, 64, 128, 256), groups=8,
                 layers=5, heads=4, ffn=1024, conv1=128, conv2=64, hidden=512, lstm=512),
    "small": dict(vocab=64, embed_dim=32, channels=(8, 16, 32, 64), groups=8,
                  layers=2, heads=2, ffn=128, conv1=8, conv2=4, hidden=16, lstm=16),
    # runs/atari-cpu/*.toml's sizes (`rem bench phases --config runs/atari-cpu/G.toml`).
    "atari-cpu": dict(vocab=32, embed_dim=64, channels=(8, 16, 32, 64), groups=8,
                      layers=2, heads=1, ffn=256, conv1=16, conv2=16, hidden=64, lstm=64),
}

# ----------------------------------------------------------------------------------------
# Tokenizer (algorithm.md, section 2)


def conv3x3(channels_in, channels_out):
    return nn.Conv2d(channels_in, channels_out, 3, padding=1)


def norm_silu(groups, channels):
    return nn.Sequential(nn.GroupNorm(groups, channels, eps=1e-6), nn.SiLU())


class DownStage(nn.Module):
    """GN -> SiLU -> stride-2 conv3x3 padded right and bottom by one -> conv3x3."""

    def __init__(self, groups, channels_in, channels_out):
        super().__init__()
        self.pre = norm_silu(groups, channels_in)
        self.down = nn.Conv2d(channels_in, channels_out, 3, stride=2)
        self.conv = conv3x3(channels_out, channels_out)

    def forward(self, x):
        return self.conv(self.down(F.pad(self.pre(x), (0, 1, 0, 1))))


class UpStage(nn.Module):
    """GN -> SiLU -> nearest x2 -> conv3x3 -> conv3x3."""

    def __init__(self, groups, channels_in, channels_out):
        super().__init__()
        self.pre = norm_silu(groups, channels_in)
        self.up_conv = conv3x3(channels_in, channels_out)
        self.conv = conv3x3(channels_out, channels_out)

    def forward(self, x):
        return self.conv(self.up_conv(F.interpolate(self.pre(x), scale_factor=2.0, mode="nearest")))


class Tokenizer(nn.Module):
    def __init__(self, vocab, embed_dim, channels, groups):
        super().__init__()
        deepest = channels[-1]
        pairs = list(zip(channels[:-1], channels[1:]))
        self.encoder = nn.Sequential(
            conv3x3(3, channels[0]),
            *[DownStage(groups, a, b) for a, b in pairs],
            norm_silu(groups, deepest),
            conv3x3(deepest, deepest),
            nn.Conv2d(deepest, embed_dim, 1),
        )
        self.codebook = nn.Embedding(vocab, embed_dim)
        nn.init.uniform_(self.codebook.weight, -1.0 / vocab, 1.0 / vocab)
        # Never run here; built so that the parameter count is the whole tokenizer's.
        self.decoder = nn.Sequential(
            nn.Conv2d(embed_dim, deepest, 1),
            conv3x3(deepest, deepest),
            *[UpStage(groups, b, a) for a, b in reversed(pairs)],
            norm_silu(groups, channels[0]),
            conv3x3(channels[0], 3),
        )
        self.side = FRAME_SIDE >> len(pairs)

    def encode(self, frames):
        """[N, 3, 64, 64] in [0, 1] -> [N, K] tokens, row-major over the grid."""
        return self.nearest_codes(self.encoder(frames * 2.0 - 1.0))

    def nearest_codes(self, z):
        """Encoder output [N, E, side, side] -> [N, K] indices of the nearest codebook vectors."""
        n, dim = z.shape[:2]
        flat = z.permute(0, 2, 3, 1).reshape(-1, dim)
        codebook = self.codebook.weight
        distances = (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1)[None, :]
                     - 2.0 * flat @ codebook.t())
        return distances.argmin(1).view(n, -1)

    def latent_map(self, tokens):
        """[N, K] tokens -> their codebook vectors as a [N, E, side, side] map."""
        n = tokens.shape[0]
        return self.codebook(tokens).view(n, self.side, self.side, -1).permute(0, 3, 1, 2)


# ----------------------------------------------------------------------------------------
# World model: RetNet with POP (algorithm.md, section 3)


def retention_decays(n_heads):
    """gamma_h = 1 - exp(linspace(ln(1/32), ln(1/512), n_heads))."""
    if n_heads == 1:
        return torch.tensor([1.0 - 1.0 / 32.0])
    return 1.0 - torch.exp(torch.linspace(math.log(1 / 32), math.log(1 / 512), n_heads))


class MultiScaleRetention(nn.Module):
    """Per-head decayed linear attention with rotary positions, GroupNorm over heads
    (no affine) and a SiLU gate. A state is a [B, heads, head_dim, head_dim] memory."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.query, self.key, self.value, self.gate, self.out = (
            nn.Linear(d_model, d_model) for _ in range(5))
        self.register_buffer("log_gamma", torch.log(retention_decays(n_heads)), persistent=False)
        pairs = self.head_dim // 2
        theta = 10000.0 ** -torch.linspace(0.0, 1.0, pairs) if pairs > 1 else torch.ones(1)
        self.register_buffer("theta", theta.repeat_interleave(2), persistent=False)

    def project(self, x, position):
        """q, k, v as [B, heads, T, head_dim], rotated to absolute positions
        position..position+T-1, keys scaled by 1/sqrt(head_dim)."""
        batch, time, _ = x.shape
        steps = torch.arange(time, device=x.device, dtype=x.dtype) + position
        angle = steps[:, None] * self.theta[None, :]  # [T, head_dim]
        cos, sin = angle.cos(), angle.sin()

        def heads(t):
            return t.view(batch, time, self.n_heads, self.head_dim).transpose(1, 2)

        def rotate(t):  # each interleaved pair (x0, x1) -> (x0 cos - x1 sin, x1 cos + x0 sin)
            pairs = t.unflatten(-1, (-1, 2))
            swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
            return t * cos + swapped * sin

        q = rotate(heads(self.query(x)))
        k = rotate(heads(self.key(x))) * self.head_dim ** -0.5
        return q, k, heads(self.value(x))

    def finish(self, x, retained):
        batch, _, time, _ = retained.shape
        normed = F.layer_norm(retained, (self.head_dim,), eps=1e-6)  # GroupNorm, one group a head
        normed = normed.transpose(1, 2).reshape(batch, time, -1)
        return self.out(normed * F.silu(self.gate(x)))

    def forward_block(self, x, memory, position, write):
        """Parallel form of T tokens after `memory`, causal among themselves. Returns the
        output and, if `write`, the memory after them (else None)."""
        q, k, v = self.project(x, position)
        time = x.shape[1]
        steps = torch.arange(time, device=x.device, dtype=x.dtype)
        distance = steps[:, None] - steps[None, :]
        log_gamma = self.log_gamma[:, None, None]
        causal = torch.exp(log_gamma * distance.clamp(min=0)) * (distance >= 0)  # [H, T, T]
        incoming = torch.exp(log_gamma * (steps + 1)[:, None])                 # [H, T, 1]
        retained = ((q @ k.transpose(-1, -2)) * causal) @ v + (q @ memory) * incoming
        new_memory = None
        if write:
            weights = torch.exp(log_gamma * (time - 1 - steps)[:, None])        # [H, T, 1]
            new_memory = (memory * torch.exp(log_gamma * time)
                          + (k * weights).transpose(-1, -2) @ v)
        return self.finish(x, retained), new_memory

    def forward_recurrent(self, x, memory, position):
        """One token per row, x [B, 1, d]: S = gamma S + k^T v, output q S."""
        q, k, v = self.project(x, position)
        memory = memory * torch.exp(self.log_gamma)[:, None, None] + k.transpose(-1, -2) @ v
        return self.finish(x, q @ memory), memory


class RetNetLayer(nn.Module):
    """x + retention(LN(x)), then h + FFN(LN(h)); pre-LayerNorm, SiLU FFN."""

    def __init__(self, d_model, n_heads, ffn):
        super().__init__()
        self.retention_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.retention = MultiScaleRetention(d_model, n_heads)
        self.ffn_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.ffn_in = nn.Linear(d_model, ffn)
        self.ffn_out = nn.Linear(ffn, d_model)

    def forward(self, x, memory, position, mode):
        n = self.retention_norm(x)
        if mode == "recurrent":
            retained, memory = self.retention.forward_recurrent(n, memory, position)
        else:
            retained, memory = self.retention.forward_block(n, memory, position, mode == "chunk")
        h = x + retained
        return h + self.ffn_out(F.silu(self.ffn_in(self.ffn_norm(h)))), memory


class RetNet(nn.Module):
    def __init__(self, n_layers, d_model, n_heads, ffn):
        super().__init__()
        self.layers = nn.ModuleList(RetNetLayer(d_model, n_heads, ffn) for _ in range(n_layers))

    def forward(self, x, memories, position, mode):
        """mode "chunk": x as one chunk after the state, returns the new memories;
        "readonly": the same pass, memories unchanged (None returned);
        "recurrent": one token, returns the new memories."""
        new_memories = []
        for layer, memory in zip(self.layers, memories):
            x, memory = layer(x, memory, position, mode)
            new_memories.append(memory)
        return x, (None if mode == "readonly" else new_memories)


def head(d_model, classes):
    return nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, classes))


class WorldModel(nn.Module):
    def __init__(self, n_layers, d_model, n_heads, ffn, tokens_per_frame, vocab, n_actions):
        super().__init__()
        self.k, self.d_model = tokens_per_frame, d_model
        self.retnet = RetNet(n_layers, d_model, n_heads, ffn)
        self.action_embedding = nn.Embedding(n_actions, d_model)
        self.prediction_tokens = nn.Parameter(torch.randn(tokens_per_frame + 1, d_model) * 0.02)
        self.obs_head = head(d_model, vocab)
        self.reward_head = head(d_model, 3)
        self.done_head = head(d_model, 2)

    def zero_state(self, batch, device):
        layer = self.retnet.layers[0].retention
        shape = (batch, layer.n_heads, layer.head_dim, layer.head_dim)
        return [torch.zeros(shape, device=device) for _ in self.retnet.layers]

    def embed_blocks(self, codebook, tokens, actions):
        """[B, T, K] tokens (embedded with the tokenizer's codebook) and [B, T] actions
        -> [B, T * (K + 1), d], each frame followed by its action."""
        batch, blocks, k = tokens.shape
        obs = F.embedding(tokens, codebook)
        act = self.action_embedding(actions)[:, :, None, :]
        return torch.cat((obs, act), dim=2).view(batch, blocks * (k + 1), self.d_model)

    def outcome(self, slot):
        return self.reward_head(slot), self.done_head(slot)


def sample(logits, temperature=1.0):
    """One class per row of [N, C] logits, drawn on the logits' device."""
    return torch.multinomial(F.softmax(logits / temperature, dim=-1), 1).squeeze(-1)


class PopImagination:
    """Two network calls per imagined frame, whatever K."""

    def __init__(self, model, codebook, tokens, actions):
        self.model, self.codebook = model, codebook
        x = model.embed_blocks(codebook, tokens, actions)
        y, self.memories = model.retnet(x, model.zero_state(x.shape[0], x.device), 0, "chunk")
        self.position = x.shape[1]
        self.first_outcome = model.outcome(y[:, -1])

    def predict_frame(self):
        batch = self.memories[0].shape[0]
        x = self.model.prediction_tokens[: self.model.k].expand(batch, -1, -1)
        y, _ = self.model.retnet(x, self.memories, self.position, "readonly")
        logits = self.model.obs_head(y)
        return sample(logits.flatten(0, 1)).view(batch, self.model.k)

    def step(self, tokens, actions):
        x = self.model.embed_blocks(self.codebook, tokens[:, None], actions[:, None])
        y, self.memories = self.model.retnet(x, self.memories, self.position, "chunk")
        self.position += x.shape[1]
        return self.model.outcome(y[:, -1])


class TokenByToken:
    """IRIS-style: K + 1 sequential recurrent calls per imagined frame."""

    def __init__(self, model, codebook, tokens, actions):
        self.model, self.codebook = model, codebook
        x = model.embed_blocks(codebook, tokens, actions)
        y, self.memories = model.retnet(x, model.zero_state(x.shape[0], x.device), 0, "chunk")
        self.position = x.shape[1]
        self.last_output = y[:, -1]
        self.first_outcome = model.outcome(self.last_output)

    def feed(self, embedded):
        y, self.memories = self.model.retnet(embedded[:, None], self.memories, self.position,
                                             "recurrent")
        self.position += 1
        self.last_output = y[:, 0]

    def predict_frame(self):
        tokens = []
        for _ in range(self.model.k):
            token = sample(self.model.obs_head(self.last_output))
            self.feed(F.embedding(token, self.codebook))
            tokens.append(token)
        return torch.stack(tokens, dim=1)

    def step(self, tokens, actions):  # the frame's tokens were fed while predicting it
        self.feed(self.model.action_embedding(actions))
        return self.model.outcome(self.last_output)


# ----------------------------------------------------------------------------------------
# Controller (algorithm.md, section 4)


class ActorCritic(nn.Module):
    def __init__(self, n_actions, embed_dim, side, conv1, conv2, hidden, lstm):
        super().__init__()
        self.conv1 = conv3x3(embed_dim, conv1)
        self.conv2 = conv3x3(conv1, conv2)
        self.project = nn.Linear(conv2 * side * side, hidden)
        self.lstm = nn.LSTMCell(hidden, lstm)  # gates i, f, g, o with two biases, as rem's
        self.action_embedding = nn.Embedding(n_actions, lstm)
        self.actor = nn.Linear(lstm, n_actions)
        self.critic = nn.Linear(lstm, 1)

    def encode(self, latents):
        x = F.silu(self.conv2(F.silu(self.conv1(latents))))
        return F.silu(self.project(x.flatten(1)))

    def observe(self, latents, state):
        h, c = self.lstm(self.encode(latents), state)
        return self.actor(h), self.critic(h).squeeze(-1), (h, c)

    def feed_action(self, actions, state):
        return self.lstm(self.action_embedding(actions), state)

    def burn_in(self, latents, actions, mask):
        """latents [N, T, E, S, S], actions and mask [N, T]: observe then feed the action,
        frame by frame; padded steps keep the state."""
        n, steps = actions.shape
        features = self.encode(latents.flatten(0, 1)).view(n, steps, -1)
        width = self.lstm.hidden_size
        state = (features.new_zeros(n, width), features.new_zeros(n, width))
        for t in range(steps):
            stepped = self.feed_action(actions[:, t], self.lstm(features[:, t], state))
            real = mask[:, t, None]
            state = tuple(torch.where(real, new, old) for new, old in zip(stepped, state))
        return state


def sample_actions_on_host(logits, generator):
    probs = F.softmax(logits.detach().float().cpu(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(logits.device)


# ----------------------------------------------------------------------------------------
# The imagination call


def imagine(tokenizer, world_model, controller, frames, actions, horizon, generator_class,
            host_rng, controller_grad):
    """frames: [N * T, 64, 64, 3] uint8 on the host, actions: [N, T] int64 on the host.
    `horizon` in REM's sense, the world model's blocks with the 2 context frames: a row
    has horizon - 1 observations, as in rem. Returns the rollout's values, [N, horizon - 1],
    and everything else it sampled."""
    device = tokenizer.codebook.weight.device
    n, t = actions.shape
    pixels = frames.permute(0, 3, 1, 2).float().div(255.0).contiguous().to(device)
    tokens = tokenizer.encode(pixels).view(n, t, -1)
    actions = actions.to(device)
    mask = torch.ones(n, t, dtype=torch.bool, device=device)
    return imagine_from_tokens(tokenizer, world_model, controller, tokens, actions, mask,
                               horizon - 1, generator_class, host_rng, controller_grad)


def imagine_from_tokens(tokenizer, world_model, controller, tokens, actions, mask, horizon,
                        generator_class, host_rng, controller_grad):
    """The call from step 2 on: tokens [N, T, K], actions and mask [N, T] on the device;
    `horizon` observations (the last real frame and horizon - 1 imagined ones)."""
    n, t = actions.shape
    latents = tokenizer.latent_map(tokens.flatten(0, 1))
    latents = latents.reshape(n, t, *latents.shape[1:])
    state = controller.burn_in(latents[:, : t - 1], actions[:, : t - 1], mask[:, : t - 1])

    rollout = {"logits": [], "values": [], "actions": [], "rewards": [], "continues": [],
               "frames": []}

    def act(frame_latents, state):
        with torch.set_grad_enabled(controller_grad):
            logits, value, state = controller.observe(frame_latents, state)
            taken = sample_actions_on_host(logits, host_rng)
            state = controller.feed_action(taken, state)
        rollout["logits"].append(logits)
        rollout["values"].append(value)
        rollout["actions"].append(taken)
        return taken, state

    def record(outcome):
        reward_logits, done_logits = outcome
        rollout["rewards"].append(sample(reward_logits).float() - 1.0)
        rollout["continues"].append(1.0 - sample(done_logits).float())

    first_action, state = act(latents[:, t - 1], state)
    context_actions = torch.stack((actions[:, t - 2], first_action), dim=1)
    world = generator_class(world_model, tokenizer.codebook.weight, tokens[:, t - 2:], context_actions)
    record(world.first_outcome)
    for step in range(1, horizon):
        frame = world.predict_frame()
        rollout["frames"].append(frame)
        action, state = act(tokenizer.latent_map(frame), state)
        if step + 1 < horizon:
            record(world.step(frame, action))
    with torch.set_grad_enabled(controller_grad):  # as rem's Tensor::cat, the stack keeps the graph
        return {key: torch.stack(values, dim=1) for key, values in rollout.items()}


# ----------------------------------------------------------------------------------------


def count(module):
    return sum(p.numel() for p in module.parameters())


def build_models(size, n_actions, device):
    """The tokenizer, world model and controller of SIZES[size], randomly initialised."""
    s = SIZES[size]
    tokenizer = Tokenizer(s["vocab"], s["embed_dim"], s["channels"], s["groups"]).to(device)
    world_model = WorldModel(s["layers"], s["embed_dim"], s["heads"], s["ffn"],
                             tokenizer.side ** 2, s["vocab"], n_actions).to(device)
    controller = ActorCritic(n_actions, s["embed_dim"], tokenizer.side, s["conv1"], s["conv2"],
                             s["hidden"], s["lstm"]).to(device)
    return tokenizer, world_model, controller


def print_parameter_counts(tokenizer, world_model, controller, n_actions):
    enc, dec, cb = (count(m) for m in (tokenizer.encoder, tokenizer.decoder, tokenizer.codebook))
    print(f"tokenizer     {count(tokenizer):>10,} parameters (encoder {enc:,}, codebook {cb:,}, decoder {dec:,})")
    print(f"world model   {count(world_model):>10,} parameters (RetNet stack {count(world_model.retnet):,}; "
          f"it embeds observations with the tokenizer's codebook)")
    print(f"actor-critic  {count(controller):>10,} parameters ({n_actions} actions)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="spec")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=3, help="timed calls after one warm-up")
    parser.add_argument("--actions", type=int, default=18)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--controller-grad", action="store_true",
                        help="record the controller's autograd graph over the imagined steps, as rem does")
    parser.add_argument("--compile", action="store_true", help="torch.compile the RetNet stack")
    args = parser.parse_args()
    assert args.horizon >= 2, "horizon must be at least 2"

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    tokenizer, world_model, controller = build_models(args.size, args.actions, device)
    tokenizer.eval()
    world_model.eval()
    if args.compile:
        world_model.retnet = torch.compile(world_model.retnet)

    print_parameter_counts(tokenizer, world_model, controller, args.actions)

    host_rng = torch.Generator().manual_seed(args.seed)
    n, t = args.batch, SEGMENT
    frames = torch.randint(0, 256, (n * t, FRAME_SIDE, FRAME_SIDE, 3), dtype=torch.uint8, generator=host_rng)
    actions = torch.randint(0, args.actions, (n, t), generator=host_rng)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def one_call(generator_class):
        rollout = imagine(tokenizer, world_model, controller, frames, actions, args.horizon,
                          generator_class, host_rng, args.controller_grad)
        rollout["values"].sum().item()  # waits for every queued kernel

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"imagination benchmark: {args.size.capitalize()} sizes, batch {n}, horizon {args.horizon}, "
          f"{args.iterations} timed calls after one warm-up, {args.device} ({name}, PyTorch {torch.__version__}"
          f"{', compiled' if args.compile else ''})")
    results = {}
    with torch.no_grad():
        for label, generator_class in (("Pop", PopImagination), ("TokenByToken", TokenByToken)):
            started = time.perf_counter()
            one_call(generator_class)  # warm-up: allocation, cuDNN algorithm choice, compilation
            sync()
            warm_up = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(args.iterations):
                one_call(generator_class)
            sync()
            seconds = (time.perf_counter() - started) / args.iterations
            results[label] = n * args.horizon / seconds
            generated = n * (args.horizon - 2) / seconds
            print(f"{label:<14} {seconds:>8.3f} s/call  {generated:>8.1f} generated frames/s  "
                  f"{results[label]:>8.1f} B x horizon/s  (warm-up {warm_up:.1f} s)", flush=True)
    print(f"POP / token-by-token: {results['Pop'] / results['TokenByToken']:.2f}x")
    if device.type == "cuda":
        gib = 2**30
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / gib:.2f} GiB allocated, "
              f"{torch.cuda.max_memory_reserved(device) / gib:.2f} GiB reserved")


if __name__ == "__main__":
    main()
