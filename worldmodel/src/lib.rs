//! The learned model of rem-rs: VQ tokenizer, multi-scale retention in its three
//! forms, the RetNet world model with parallel observation prediction (POP), and
//! imagination. Everything is generic over burn's `Backend`.

pub mod activation;
pub mod conv;
pub mod dropout;
pub mod error;
mod flex_kernels;
pub mod imagination;
pub mod layer_norm;
mod matrix;
pub mod norm_silu;
pub mod optim;
pub mod retention;
pub mod retnet;
pub mod stream;
pub mod tokenizer;
mod vector_exp;
pub mod world_model;
pub mod world_model_trainer;

pub use error::ConfigError;
