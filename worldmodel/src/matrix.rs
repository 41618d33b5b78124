//! Matrix products on strided f32 slices, on the calling thread: what the
//! hand-written kernels (convolutions, retention) call, through the gemm crate that
//! burn's CPU backend uses too.

use gemm::{gemm, Parallelism};

/// `dst[m, n] (+)= lhs[m, k] * rhs[k, n]` on strided matrices (strides in elements:
/// row, column), on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_strides: (usize, usize),
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
) {
    let last =
        |(rs, cs): (usize, usize), rows: usize, cols: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last(dst_strides, m, n) < dst.len(),
        "product: dst out of bounds"
    );
    assert!(
        last(lhs_strides, m, k) < lhs.len(),
        "product: lhs out of bounds"
    );
    assert!(
        last(rhs_strides, k, n) < rhs.len(),
        "product: rhs out of bounds"
    );
    // SAFETY: the asserts above keep every element gemm touches inside the slices,
    // and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides.1 as isize,
            dst_strides.0 as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.1 as isize,
            lhs_strides.0 as isize,
            rhs.as_ptr(),
            rhs_strides.1 as isize,
            rhs_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
