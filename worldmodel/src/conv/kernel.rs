//! 3x3 convolutions of `[N, C, H, W]` f32 frames as nine matrix products per group
//! of frames, with no im2col copy: forward, and the gradients of the input, weight
//! and bias.
//!
//! Each frame is zero-padded into one *plane* (stride 1) or split into four phase
//! planes (stride 2: even/odd rows x even/odd columns) of `P = Hq * Wq` pixels. Tap
//! `(ky, kx)` of the kernel then reads one plane at a fixed flat offset: for an
//! output position laid out on a grid of width `Wq`, `q = y * Wq + x`,
//!
//! ```text
//! stride 1:  y[co, q] = sum_{ky,kx} sum_ci w[co, ci, ky, kx] * plane[ci, q + ky*Wq + kx]
//! stride 2:  plane (ky%2, kx%2), offset (ky/2)*Wq + kx/2
//! ```
//!
//! A stride-1 convolution padded by one on every side (the common case) shares the
//! padding between neighbours: planes `(H + 1) x (W + 1)` with a zero row and column
//! before each frame's pixels, since in the flat layout a row's zero column is also
//! the previous row's right edge and a frame's zero row the previous frame's bottom.
//!
//! The planes of a group of `G` frames sit side by side (`[Cin, G * P]` per plane),
//! so every tap is one `[Cout, Cin] x [Cin, S]` product over a contiguous run of
//! `S = (G - 1) * P + (Ho - 1) * Wq + Wo` columns. Grid columns that are not an
//! output pixel are junk: they are computed and dropped in the forward pass, and held
//! at zero in the output gradient so that they add nothing to the input and weight
//! gradients:
//!
//! ```text
//! dw[co, ci, t] = sum_groups sum_q  dy[co, q] * plane[ci, q + off_t]
//! dplane[ci, q + off_t] += sum_co w[co, ci, t] * dy[co, q]
//! ```
//!
//! Groups run in parallel on rayon's pool, each group's products on one core. The
//! weight gradient is summed per group and then over the groups in order, so it does
//! not depend on the thread count or timing.

use crate::matrix::product;
use rayon::prelude::*;

/// Columns a group's planes aim at: enough for efficient products on small frames
/// (8x8 maps: 50 frames a group), one frame a group for 64x64 ones.
const GROUP_COLUMNS: usize = 4096;

/// The shape of one convolution: a 3x3 kernel, stride 1 or 2, explicit padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub channels_in: usize,
    pub channels_out: usize,
    pub height: usize,
    pub width: usize,
    pub stride: usize,
    /// Zero rows and columns added: top, left, bottom, right.
    pub padding: [usize; 4],
}

/// Where the nine taps read, derived from a [`Geometry`].
#[derive(Debug, Clone)]
struct Planes {
    count: usize,
    /// Rows and columns of one frame's plane.
    rows: usize,
    cols: usize,
    out_height: usize,
    out_width: usize,
    /// `(plane, flat offset)` of each tap, in `ky * 3 + kx` order.
    taps: [(usize, usize); 9],
    /// Frames per group.
    group: usize,
    /// Zero columns after the group's last frame, for the shared-padding layout.
    tail: usize,
}

impl Geometry {
    /// `(Ho, Wo)`.
    pub fn out_size(&self) -> (usize, usize) {
        let p = self.planes();
        (p.out_height, p.out_width)
    }

    fn planes(&self) -> Planes {
        let [top, left, bottom, right] = self.padding;
        let (rows_padded, cols_padded) = (self.height + top + bottom, self.width + left + right);
        assert!(
            rows_padded >= 3 && cols_padded >= 3,
            "3x3 kernel larger than its input"
        );
        let shared_padding = self.stride == 1 && self.padding == [1, 1, 1, 1];
        let (count, rows, cols) = match self.stride {
            1 if shared_padding => (1, self.height + 1, self.width + 1),
            1 => (1, rows_padded, cols_padded),
            2 => (4, rows_padded.div_ceil(2), cols_padded.div_ceil(2)),
            s => panic!("stride {s}: only 1 and 2 have kernels"),
        };
        let taps = std::array::from_fn(|t| {
            let (ky, kx) = (t / 3, t % 3);
            if count == 1 {
                (0, ky * cols + kx)
            } else {
                ((ky % 2) * 2 + kx % 2, (ky / 2) * cols + kx / 2)
            }
        });
        Planes {
            count,
            rows,
            cols,
            out_height: (rows_padded - 3) / self.stride + 1,
            out_width: (cols_padded - 3) / self.stride + 1,
            taps,
            group: (GROUP_COLUMNS / (rows * cols)).max(1),
            // The last frame's bottom zero row and the right edge of its last pixel.
            tail: if shared_padding { cols + 1 } else { 0 },
        }
    }

    fn frame_len(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    fn out_len(&self) -> usize {
        let (ho, wo) = self.out_size();
        self.channels_out * ho * wo
    }
}

impl Planes {
    /// Pixels of one frame's plane.
    fn frame_pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// Columns of one plane of a group (per channel).
    fn row_len(&self) -> usize {
        self.group * self.frame_pixels() + self.tail
    }

    /// Grid columns each tap's product spans for a group of `frames`.
    fn span(&self, frames: usize) -> usize {
        (frames - 1) * self.frame_pixels() + (self.out_height - 1) * self.cols + self.out_width
    }

    fn buffer_len(&self, channels: usize) -> usize {
        self.count * channels * self.row_len()
    }

    /// Where pixel `(r, c)` of channel `ci` of the group's frame `slot` lies in the
    /// planes (laid out `[count, Cin, G * P]`).
    fn pixel_index(&self, g: &Geometry, ci: usize, slot: usize, r: usize, c: usize) -> usize {
        let (rp, cp) = (r + g.padding[0], c + g.padding[1]);
        let (plane, row, col) = if self.count == 1 {
            (0, rp, cp)
        } else {
            ((rp % 2) * 2 + cp % 2, rp / 2, cp / 2)
        };
        (plane * g.channels_in + ci) * self.row_len()
            + slot * self.frame_pixels()
            + row * self.cols
            + col
    }
}

/// Writes one frame `[Cin, H, W]` into its slot of the group's planes (whose padding
/// is already zero).
fn frame_to_planes(g: &Geometry, p: &Planes, slot: usize, frame: &[f32], planes: &mut [f32]) {
    for ci in 0..g.channels_in {
        for r in 0..g.height {
            let row = &frame[(ci * g.height + r) * g.width..][..g.width];
            if p.count == 1 {
                planes[p.pixel_index(g, ci, slot, r, 0)..][..g.width].copy_from_slice(row);
            } else {
                for (c, &v) in row.iter().enumerate() {
                    planes[p.pixel_index(g, ci, slot, r, c)] = v;
                }
            }
        }
    }
}

/// The inverse gather of [`frame_to_planes`]: padding positions are dropped.
fn planes_to_frame(g: &Geometry, p: &Planes, slot: usize, planes: &[f32], frame: &mut [f32]) {
    for ci in 0..g.channels_in {
        for r in 0..g.height {
            let row = &mut frame[(ci * g.height + r) * g.width..][..g.width];
            if p.count == 1 {
                row.copy_from_slice(&planes[p.pixel_index(g, ci, slot, r, 0)..][..g.width]);
            } else {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = planes[p.pixel_index(g, ci, slot, r, c)];
                }
            }
        }
    }
}

/// The group's planes, built from its frames.
fn group_planes(g: &Geometry, p: &Planes, frames: &[f32], planes: &mut [f32]) {
    planes.fill(0.0);
    for (slot, frame) in frames.chunks(g.frame_len()).enumerate() {
        frame_to_planes(g, p, slot, frame, planes);
    }
}

/// Index of output pixel `(co, y, x)` of frame `slot` on the group's grid
/// `[Cout, G * P]`.
fn grid_index(p: &Planes, co: usize, slot: usize, y: usize) -> usize {
    co * p.row_len() + slot * p.frame_pixels() + y * p.cols
}

/// `y = conv(x, w) + b`: `x` `[N, Cin, H, W]`, `w` `[Cout, Cin, 3, 3]`, `b` `[Cout]`;
/// returns `[N, Cout, Ho, Wo]`.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let p = g.planes();
    let (cin, cout) = (g.channels_in, g.channels_out);
    let frames = x.len() / g.frame_len();
    let mut y = vec![0.0f32; frames * g.out_len()];
    y.par_chunks_mut(g.out_len() * p.group)
        .zip(x.par_chunks(g.frame_len() * p.group))
        .for_each_init(
            || {
                (
                    vec![0.0f32; p.buffer_len(cin)],
                    vec![0.0f32; cout * p.row_len()],
                )
            },
            |(planes, grid), (out, frames)| {
                group_planes(g, &p, frames, planes);
                let span = p.span(frames.len() / g.frame_len());
                for (t, &(plane, offset)) in p.taps.iter().enumerate() {
                    product(
                        (cout, span, cin),
                        grid,
                        (p.row_len(), 1),
                        t > 0,
                        &weight[t..],
                        (cin * 9, 9),
                        &planes[plane * cin * p.row_len() + offset..],
                        (p.row_len(), 1),
                    );
                }
                for (slot, out) in out.chunks_mut(g.out_len()).enumerate() {
                    crop_grid(&p, slot, grid, out, bias);
                }
            },
        );
    y
}

/// Copies frame `slot`'s output pixels from the group's grid to `[Cout, Ho, Wo]`,
/// adding the bias.
fn crop_grid(p: &Planes, slot: usize, grid: &[f32], out: &mut [f32], bias: Option<&[f32]>) {
    let (ho, wo) = (p.out_height, p.out_width);
    for (co, plane) in out.chunks_mut(ho * wo).enumerate() {
        let b = bias.map_or(0.0, |b| b[co]);
        for y in 0..ho {
            let src = &grid[grid_index(p, co, slot, y)..][..wo];
            for (o, &v) in plane[y * wo..][..wo].iter_mut().zip(src) {
                *o = v + b;
            }
        }
    }
}

/// The output gradients of a group's frames (`[Cout, Ho, Wo]` each) on its grid,
/// junk columns zero.
fn gradient_to_grid(g: &Geometry, p: &Planes, dy: &[f32], grid: &mut [f32]) {
    let (ho, wo) = (p.out_height, p.out_width);
    grid.fill(0.0);
    for (slot, frame) in dy.chunks(g.out_len()).enumerate() {
        for (co, plane) in frame.chunks(ho * wo).enumerate() {
            for y in 0..ho {
                grid[grid_index(p, co, slot, y)..][..wo].copy_from_slice(&plane[y * wo..][..wo]);
            }
        }
    }
}

/// The weight's gradient `[Cout, Cin, 3, 3]` and the bias's `[Cout]`.
pub type WeightGradients = (Vec<f32>, Vec<f32>);

/// What [`backward`] computes: the input's gradient, the weight's and the bias's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub input: bool,
    /// The weight's and the bias's gradients (not wanted for a frozen network).
    pub weight: bool,
}

/// Gradients of [`forward`] for the output gradient `dy` `[N, Cout, Ho, Wo]`: `dx`
/// when `wanted.input`, `(dw, db)` when `wanted.weight`.
pub fn backward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    wanted: Wanted,
) -> (Option<Vec<f32>>, Option<WeightGradients>) {
    let p = g.planes();
    let (cin, cout) = (g.channels_in, g.channels_out);
    let groups = (x.len() / g.frame_len()).div_ceil(p.group);
    let mut dx = vec![0.0f32; if wanted.input { x.len() } else { 0 }];
    let dx_groups: Vec<&mut [f32]> = if wanted.input {
        dx.chunks_mut(g.frame_len() * p.group).collect()
    } else {
        (0..groups).map(|_| &mut [][..]).collect()
    };
    // Per group: the tap-major weight gradient [9, Cout, Cin] and the bias's.
    let partials: Vec<Option<WeightGradients>> = x
        .par_chunks(g.frame_len() * p.group)
        .zip(dy.par_chunks(g.out_len() * p.group))
        .zip(dx_groups.into_par_iter())
        .map(|((frames, dy), dx)| {
            let mut planes = vec![0.0f32; p.buffer_len(cin)];
            let mut grid = vec![0.0f32; cout * p.row_len()];
            group_planes(g, &p, frames, &mut planes);
            gradient_to_grid(g, &p, dy, &mut grid);
            let span = p.span(frames.len() / g.frame_len());
            let weight_grads = wanted.weight.then(|| {
                let mut db = vec![0.0f32; cout];
                for frame in dy.chunks(g.out_len()) {
                    for (sum, plane) in db.iter_mut().zip(frame.chunks(g.out_len() / cout)) {
                        *sum += plane.iter().sum::<f32>();
                    }
                }
                (weight_gradient(g, &p, span, &planes, &grid), db)
            });
            if wanted.input {
                // The planes have been read: they now take the planes' gradient.
                input_gradient(g, &p, span, weight, &grid, &mut planes);
                for (slot, frame) in dx.chunks_mut(g.frame_len()).enumerate() {
                    planes_to_frame(g, &p, slot, &planes, frame);
                }
            }
            weight_grads
        })
        .collect();
    let weight_grads = wanted.weight.then(|| {
        let mut dw_taps = vec![0.0f32; 9 * cout * cin];
        let mut db = vec![0.0f32; cout];
        for (dw_group, db_group) in partials.iter().flatten() {
            dw_taps.iter_mut().zip(dw_group).for_each(|(a, b)| *a += b);
            db.iter_mut().zip(db_group).for_each(|(a, b)| *a += b);
        }
        // [9, Cout, Cin] -> [Cout, Cin, 3, 3]
        let mut dw = vec![0.0f32; 9 * cout * cin];
        for (t, taps) in dw_taps.chunks(cout * cin).enumerate() {
            for (i, &v) in taps.iter().enumerate() {
                dw[i * 9 + t] = v;
            }
        }
        (dw, db)
    });
    (wanted.input.then_some(dx), weight_grads)
}

/// `dw[t] = dy_grid[:, 0..S] * plane[:, off_t..off_t + S]^T` for every tap, tap-major.
fn weight_gradient(
    g: &Geometry,
    p: &Planes,
    span: usize,
    planes: &[f32],
    grid: &[f32],
) -> Vec<f32> {
    let (cin, cout) = (g.channels_in, g.channels_out);
    let mut dw = vec![0.0f32; 9 * cout * cin];
    for (t, &(plane, offset)) in p.taps.iter().enumerate() {
        product(
            (cout, cin, span),
            &mut dw[t * cout * cin..][..cout * cin],
            (cin, 1),
            false,
            grid,
            (p.row_len(), 1),
            &planes[plane * cin * p.row_len() + offset..],
            (1, p.row_len()),
        );
    }
    dw
}

/// Overwrites `planes` with the gradient of the planes:
/// `dplane[:, off_t..off_t + S] += w[:, :, t]^T * dy_grid[:, 0..S]`.
fn input_gradient(
    g: &Geometry,
    p: &Planes,
    span: usize,
    weight: &[f32],
    grid: &[f32],
    planes: &mut [f32],
) {
    let (cin, cout) = (g.channels_in, g.channels_out);
    planes.fill(0.0);
    for (t, &(plane, offset)) in p.taps.iter().enumerate() {
        product(
            (cin, span, cout),
            &mut planes[plane * cin * p.row_len() + offset..],
            (p.row_len(), 1),
            true,
            &weight[t..],
            (9, cin * 9),
            grid,
            (p.row_len(), 1),
        );
    }
}
