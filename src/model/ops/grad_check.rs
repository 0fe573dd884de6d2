//! Test helper: which parameters of a module got a gradient.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

type AD = Autodiff<Flex>;

struct Check<'a> {
    grads: &'a <AD as AutodiffBackend>::Gradients,
    missing: Vec<String>,
    total: usize,
}

impl ModuleVisitor<AD> for Check<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<AD, D>>) {
        self.total += 1;
        match p.val().grad(self.grads) {
            Some(g) if g.clone().abs().sum().into_scalar() > 0.0 => {}
            _ => self.missing.push(format!("{:?}", p.val().dims())),
        }
    }
}

/// The shapes of `module`'s parameters with no (or an all-zero) gradient in `grads`, and the
/// number of parameters visited.
pub fn without_gradient<M: Module<AD>>(module: &M, grads: &<AD as AutodiffBackend>::Gradients) -> (Vec<String>, usize) {
    let mut c = Check { grads, missing: vec![], total: 0 };
    module.visit(&mut c);
    (c.missing, c.total)
}
