use std::time::Instant;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, Int, TensorData, Distribution};
use rem_worldmodel::tokenizer::{TokenizerConfig, frames_to_tensor};
use rem_worldmodel::world_model::WorldModelConfig;
use rem_worldmodel::imagination::PopImagination;
type B = Flex;
fn main() {
    let dev = Default::default();
    let tok = TokenizerConfig::default().init::<B>(&dev);
    let mut c = WorldModelConfig::spec(18); c.retnet.dropout = 0.0;
    let wm = c.init::<B>(&dev);
    let frames: Vec<u8> = (0..168*12288).map(|i| (i % 251) as u8).collect();
    for _ in 0..2 {
    let t = Instant::now();
    let x = frames_to_tensor::<B>(&frames, &dev).unwrap();
    let (tokens, _) = tok.encode(x);
    let _ = tokens.clone().sum().into_scalar();
    println!("encode 168 frames: {:?}", t.elapsed());
    let toks = Tensor::<B,3,Int>::from_data(TensorData::new(vec![1i64; 8*2*64], [8,2,64]), &dev);
    let acts = Tensor::<B,2,Int>::from_data(TensorData::new(vec![1i64; 16], [8,2]), &dev);
    let t = Instant::now();
    let (mut im, _) = PopImagination::start(&wm, tok.codebook(), toks, acts, 1.0);
    println!("start: {:?}", t.elapsed());
    let t = Instant::now();
    let f = im.predict_frame(); let _ = f.clone().sum().into_scalar();
    println!("predict: {:?}", t.elapsed());
    let t = Instant::now();
    let a = Tensor::<B,1,Int>::from_data(TensorData::new(vec![1i64; 8], [8]), &dev);
    let o = im.step(f, a); let _ = o.reward().sum().into_scalar();
    println!("step: {:?}", t.elapsed());
    let t = Instant::now();
    let x: Tensor<B,2> = Tensor::random([520, 256], Distribution::Default, &dev);
    let w: Tensor<B,2> = Tensor::random([256, 1024], Distribution::Default, &dev);
    for _ in 0..10 { let _ = x.clone().matmul(w.clone()).sum().into_scalar(); }
    let el = t.elapsed(); println!("10 matmul 520x256x1024: {:?} = {:.1} GFLOP/s", el, 10.0*2.0*520.0*256.0*1024.0/el.as_secs_f64()/1e9);
    }
}
