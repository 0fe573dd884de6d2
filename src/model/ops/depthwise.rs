//! Depthwise convolution (stride 1, "same" padding). On `Autodiff<Flex>` its backward runs as two
//! more depthwise convolutions on flex's fast path (`flex::depthwise` says how and why); other
//! backends use burn's convolution unchanged. Same parameters and records as `Conv2d`.

use crate::model::ops::layout::to_channels_last;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `conv` (a depthwise convolution: groups = channels, odd square kernel, stride 1, padding k/2)
/// applied to `x`.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, c, h, w]`
pub fn depthwise_conv<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let c = check_kernel(conv);
    #[cfg(feature = "flex")]
    let x = match super::flex::depthwise::without_bias(conv, x) {
        Ok(y) => return with_bias(conv, y, [1, c, 1, 1]),
        Err(x) => x,
    };
    let _ = c;
    conv.forward(x)
}

/// [`depthwise_conv`] with its output channel-last and contiguous (as ConvNeXt's norm and MLP want
/// it); the bias is added on the last axis, a cheap broadcast.
///
/// # Shapes
/// - `x`: `[batch, c, h, w]` → `[batch, h, w, c]`
pub fn depthwise_conv_channels_last<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let c = check_kernel(conv);
    #[cfg(feature = "flex")]
    let x = match super::flex::depthwise::without_bias(conv, x) {
        Ok(y) => return with_bias(conv, to_channels_last(y), [1, 1, 1, c]),
        Err(x) => x,
    };
    let _ = c;
    to_channels_last(conv.forward(x))
}

/// The channel count of a `[c, 1, k, k]` kernel with odd `k`; panics on another kernel.
fn check_kernel<B: Backend>(conv: &Conv2d<B>) -> usize {
    let [c, per_group, k, k2] = conv.weight.dims();
    assert!(
        per_group == 1 && k == k2 && k % 2 == 1,
        "depthwise_conv: a [c, 1, k, k] kernel with odd k, got [{c}, {per_group}, {k}, {k2}]"
    );
    c
}

/// `y` plus the convolution's bias (if any) viewed as `shape`.
#[allow(dead_code)]
fn with_bias<B: Backend>(conv: &Conv2d<B>, y: Tensor<B, 4>, shape: [usize; 4]) -> Tensor<B, 4> {
    match &conv.bias {
        Some(bias) => y + bias.val().reshape(shape),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::Distribution;

    #[test]
    fn values_and_gradients_match_burns_convolution() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        for (c, side, k) in [(6usize, 9usize, 7usize), (4, 5, 3)] {
            let conv = Conv2dConfig::new([c, c], [k, k])
                .with_groups(c)
                .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
                .init::<A>(&dev);
            let x0 = Tensor::<A, 4>::random([3, c, side, side + 2], Distribution::Normal(0.0, 1.0), &dev);
            let weights = Tensor::<A, 4>::random([3, c, side, side + 2], Distribution::Normal(0.0, 1.0), &dev);
            let run = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>| {
                let x = x0.clone().require_grad();
                let y = f(x.clone());
                let grads = (y.clone() * weights.clone()).sum().backward();
                let gw = conv.weight.grad(&grads).expect("the kernel has a gradient");
                let gb = conv.bias.as_ref().unwrap().grad(&grads).expect("the bias has a gradient");
                (y.inner(), x.grad(&grads).expect("x has a gradient"), gw, gb)
            };
            let fast = run(&|x| depthwise_conv(&conv, x));
            let slow = run(&|x| conv.forward(x));
            assert_eq!(fast.0.dims(), [3, c, side, side + 2]);
            let close = |a: Tensor<Flex, 4>, b: Tensor<Flex, 4>, what: &str| {
                let d = (a - b).abs().max().into_scalar();
                assert!(d < 1e-4, "c {c} k {k}: {what} differ by {d}");
            };
            close(fast.0, slow.0, "outputs");
            close(fast.1, slow.1, "input gradients");
            close(fast.2, slow.2, "kernel gradients");
            let db = (fast.3 - slow.3).abs().max().into_scalar();
            assert!(db < 1e-4, "bias gradients differ by {db}");
            // The channel-last variant: the same numbers in the other layout, bias included.
            let last = run(&|x| crate::model::ops::layout::to_channels_first(depthwise_conv_channels_last(&conv, x)));
            let slow = run(&|x| conv.forward(x));
            close(last.0, slow.0, "channel-last outputs");
            close(last.1, slow.1, "channel-last input gradients");
            close(last.2, slow.2, "channel-last kernel gradients");
            let db = (last.3 - slow.3).abs().max().into_scalar();
            assert!(db < 1e-4, "channel-last bias gradients differ by {db}");
        }
    }

    /// A depthwise convolution (stride 1, padding k/2) and its gradients by plain loops: with
    /// `y[n,c,i,j] = b[c] + Σ_{u,v} w[c,u,v]·x[n,c,i+u−k/2,j+v−k/2]` and the loss `Σ y·g`, returns
    /// `(y, ∂x, ∂w)`. `x` and `g` are `[n, c, h, w]`, `w` is `[c, 1, k, k]`, all row-major.
    fn naive(x: &[f32], w: &[f32], bias: &[f32], g: &[f32], [c, h, wd, k]: [usize; 4]) -> [Vec<f32>; 3] {
        let (mut y, mut dx, mut dw) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()], vec![0.0f32; w.len()]);
        let p = (k / 2) as isize;
        for out in 0..x.len() {
            let (j, i, ch) = (out % wd, out / wd % h, out / (wd * h) % c);
            let plane = out - (i * wd + j);
            y[out] = bias[ch];
            for u in 0..k {
                for v in 0..k {
                    let (ii, jj) = (i as isize + u as isize - p, j as isize + v as isize - p);
                    if ii < 0 || jj < 0 || ii >= h as isize || jj >= wd as isize {
                        continue;
                    }
                    let at = plane + ii as usize * wd + jj as usize;
                    let tap = (ch * k + u) * k + v;
                    y[out] += w[tap] * x[at];
                    dx[at] += g[out] * w[tap];
                    dw[tap] += g[out] * x[at];
                }
            }
        }
        [y, dx, dw]
    }

    #[test]
    fn values_and_gradients_match_a_naive_loop() {
        type A = Autodiff<Flex>;
        let dev = Default::default();
        let host = |t: Tensor<Flex, 4>| t.into_data().into_vec::<f32>().unwrap();
        let close = |a: Vec<f32>, b: &[f32], what: &str| {
            let d = a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(a.len() == b.len() && d < 1e-4, "{what} differ from the naive loop by {d}");
        };
        let (n, c, h, wd, k) = (2usize, 3usize, 6usize, 5usize, 3usize);
        let conv = Conv2dConfig::new([c, c], [k, k])
            .with_groups(c)
            .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
            .init::<A>(&dev);
        let x0 = Tensor::<A, 4>::random([n, c, h, wd], Distribution::Normal(0.0, 1.0), &dev);
        let g = Tensor::<A, 4>::random([n, c, h, wd], Distribution::Normal(0.0, 1.0), &dev);
        let weight = host(conv.weight.val().inner());
        let bias = conv.bias.as_ref().unwrap().val().inner().into_data().into_vec::<f32>().unwrap();
        let [y, dx, dw] = naive(&host(x0.clone().inner()), &weight, &bias, &host(g.clone().inner()), [c, h, wd, k]);
        // The fast kernel (`Autodiff<Flex>`): its forward and its own backward.
        let x = x0.clone().require_grad();
        let out = depthwise_conv(&conv, x.clone());
        let grads = (out.clone() * g).sum().backward();
        close(host(out.inner()), &y, "fast outputs");
        close(host(x.grad(&grads).expect("x has a gradient")), &dx, "fast input gradients");
        close(host(conv.weight.grad(&grads).expect("the kernel has a gradient")), &dw, "fast kernel gradients");
        // Plain `Flex` (no fast path): burn's convolution, the same numbers.
        close(host(depthwise_conv(&conv.valid(), x0.inner())), &y, "plain outputs");
    }
}
