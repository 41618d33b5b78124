//! Conversion between observation bytes (HWC `u8`, as the environments store them) and
//! the NCHW float tensors the tokenizer consumes and produces.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rem_envs::{FRAME_BYTES, FRAME_CHANNELS, FRAME_SIDE};

use super::TokenizerError;

/// Converts a batch of frames, given as consecutive 64x64x3 HWC bytes (`[B, 64, 64, 3]`),
/// into a `[B, 3, 64, 64]` tensor with values in [0, 1].
///
/// The channel transposition happens on the host: it is cheap next to a network pass and
/// hands the device one contiguous buffer.
pub fn frames_to_tensor<B: Backend>(
    bytes: &[u8],
    device: &B::Device,
) -> Result<Tensor<B, 4>, TokenizerError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(FRAME_BYTES) {
        return Err(TokenizerError::FrameBytes {
            len: bytes.len(),
            frame_bytes: FRAME_BYTES,
        });
    }
    let batch = bytes.len() / FRAME_BYTES;
    let plane = FRAME_SIDE * FRAME_SIDE;
    let mut values = vec![0f32; bytes.len()];
    for (frame_index, frame) in bytes.chunks_exact(FRAME_BYTES).enumerate() {
        let out = &mut values[frame_index * FRAME_BYTES..(frame_index + 1) * FRAME_BYTES];
        for (pixel, rgb) in frame.chunks_exact(FRAME_CHANNELS).enumerate() {
            for (channel, &byte) in rgb.iter().enumerate() {
                out[channel * plane + pixel] = byte as f32 / 255.0;
            }
        }
    }
    let data = TensorData::new(values, [batch, FRAME_CHANNELS, FRAME_SIDE, FRAME_SIDE]);
    Ok(Tensor::from_data(data, device))
}

/// Converts decoder output (`[B, 3, 64, 64]`, values in the model's [-1, 1] space) back
/// into HWC bytes, clamping values outside the range.
pub fn tensor_to_frames<B: Backend>(decoded: Tensor<B, 4>) -> Vec<u8> {
    let [batch, channels, height, width] = decoded.dims();
    assert_eq!(
        [channels, height, width],
        [FRAME_CHANNELS, FRAME_SIDE, FRAME_SIDE],
        "decoded frames must be [B, 3, 64, 64]"
    );
    let unit = decoded.add_scalar(1.0).mul_scalar(0.5).clamp(0.0, 1.0);
    let values: Vec<f32> = unit
        .into_data()
        .convert::<f32>()
        .into_vec()
        .expect("f32 tensor data");
    let plane = height * width;
    let mut bytes = vec![0u8; batch * FRAME_BYTES];
    for (frame_index, out) in bytes.chunks_exact_mut(FRAME_BYTES).enumerate() {
        let planes = &values[frame_index * FRAME_BYTES..(frame_index + 1) * FRAME_BYTES];
        for (pixel, rgb) in out.chunks_exact_mut(FRAME_CHANNELS).enumerate() {
            for (channel, byte) in rgb.iter_mut().enumerate() {
                *byte = (planes[channel * plane + pixel] * 255.0).round() as u8;
            }
        }
    }
    bytes
}
