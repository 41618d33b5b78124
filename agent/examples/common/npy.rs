//! NumPy files for checking our models against another implementation: arrays in
//! C order, and a module's parameters (or their gradients) by module path. Shared by
//! the examples that export (`#[path = "common/npy.rs"] mod npy;`); each uses a part.
#![allow(dead_code)]

use anyhow::Result;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use npyz::WriterBuilder;
use std::path::Path;

/// Writes `values` as a C-order .npy array of `shape`.
pub fn write_npy<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[usize],
    values: Vec<T>,
) -> Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut file)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()?;
    Ok(())
}

/// Writes a float tensor as an f32 .npy array of its shape.
pub fn write_tensor<B: Backend, const D: usize>(path: &Path, tensor: Tensor<B, D>) -> Result<()> {
    let shape = tensor.dims().to_vec();
    let values: Vec<f32> = tensor
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("f32 values");
    write_npy(path, &shape, values)
}

/// One array per float parameter of `module`, `dir/PATH.npy` (PATH its module path,
/// e.g. `lstm.input_to_gates.weight`; a `Linear` weight is `[in, out]`).
pub fn write_parameters<B: Backend, M: Module<B>>(dir: &Path, module: &M) -> Result<usize> {
    let mut visitor = Values::default();
    module.visit(&mut visitor);
    visitor.0.write(dir)
}

/// The gradient of every float parameter of `module` in `grads`, laid out as
/// [`write_parameters`] lays out the values (a parameter without one is skipped).
pub fn write_gradients<B: AutodiffBackend, M: Module<B>>(
    dir: &Path,
    module: &M,
    grads: &B::Gradients,
) -> Result<usize> {
    let mut visitor = Gradients::<B> {
        grads,
        found: Found::default(),
    };
    module.visit(&mut visitor);
    visitor.found.write(dir)
}

/// Arrays collected by module path while a visitor walks a module.
#[derive(Default)]
struct Found {
    path: Vec<String>,
    arrays: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl Found {
    fn push<T: Backend, const D: usize>(&mut self, tensor: Tensor<T, D>) {
        let shape = tensor.dims().to_vec();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("f32 values");
        self.arrays.push((self.path.join("."), shape, values));
    }

    fn write(self, dir: &Path) -> Result<usize> {
        std::fs::create_dir_all(dir)?;
        let count = self.arrays.len();
        for (path, shape, values) in self.arrays {
            write_npy(&dir.join(format!("{path}.npy")), &shape, values)?;
        }
        Ok(count)
    }
}

#[derive(Default)]
struct Values(Found);

impl<B: Backend> ModuleVisitor<B> for Values {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.0.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.0.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val());
    }
}

struct Gradients<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    found: Found,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Gradients<'_, B> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.found.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.found.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            self.found.push(grad);
        }
    }
}
