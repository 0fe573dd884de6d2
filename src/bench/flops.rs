//! Floating-point operations of one training step (forward + loss + backward) of the bench cell,
//! counted from its shapes the way PyTorch's `FlopCounterMode` counts them, so Eyrie's count and
//! the reference's measured count can be compared: matrix products, convolutions and attention
//! only (2 per multiply-add; norms, activations, softmax and the optimiser are not counted); a
//! backward pass costs one product for the weight gradient plus one for the input gradient when
//! the input needs one (not for the first layer over the images); attention costs 4·b·h·n²·d
//! forward and twice that backward, causal or not.

use super::BenchShapes;

/// Counts per part of the cell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Count(f64);

impl Count {
    /// `[m, k] × [k, n]` forward and backward.
    fn linear(&mut self, m: usize, k: usize, n: usize, input_grad: bool) {
        let one = 2.0 * (m * k * n) as f64;
        self.0 += one * if input_grad { 3.0 } else { 2.0 };
    }

    /// A convolution of `per_output` multiply-adds for each of `outputs` values, forward and backward.
    fn conv(&mut self, outputs: usize, per_output: usize, input_grad: bool) {
        self.linear(outputs, per_output, 1, input_grad);
    }

    /// Scaled dot-product attention over `b·h` heads of `n` tokens of width `d`.
    fn attention(&mut self, b: usize, h: usize, n: usize, d: usize) {
        self.0 += 3.0 * 4.0 * (b * h * n * n * d) as f64;
    }
}

/// FLOPs of one training step of the cell with `shapes` (see the module note for what counts).
pub fn training_step(shapes: &BenchShapes) -> f64 {
    let b = shapes.batch;
    let mut c = Count::default();
    for (kind, dim, depth, heads, side, _grid) in &shapes.experts {
        let (dim, depth, heads, side) = (*dim, *depth, *heads, *side);
        match kind.as_str() {
            "clip" => {
                let n = (side / 8) * (side / 8);
                c.linear(b * n, 3 * 8 * 8, dim, false);
                for _ in 0..depth {
                    vit_block(&mut c, b, n, dim, heads);
                }
            }
            "convnext" => {
                let w = [(dim / 2).max(4), dim];
                let s0 = side / 8;
                c.conv(b * w[0] * s0 * s0, 3 * 8 * 8, false);
                for _ in 0..depth {
                    convnext_block(&mut c, b, s0, w[0]);
                }
                let s1 = s0 / 2;
                c.conv(b * w[1] * s1 * s1, w[0] * 2 * 2, true);
                for _ in 0..depth {
                    convnext_block(&mut c, b, s1, w[1]);
                }
            }
            other => panic!("flops: no count for expert `{other}` (the bench cell has clip and convnext)"),
        }
    }
    let channels: usize = shapes.experts.iter().map(|e| e.1).sum();
    let (lm_dim, lm_depth, lm_heads, vocab) = shapes.lm;
    let tokens = shapes.grid * shapes.grid;
    c.linear(b * tokens, channels, lm_dim, true);
    c.linear(b * tokens, lm_dim, lm_dim, true);
    let n = shapes.visual_tokens + shapes.text_len;
    let hidden = (lm_dim * 8 / 3).div_ceil(8) * 8;
    for _ in 0..lm_depth {
        c.linear(b * n, lm_dim, 3 * lm_dim, true);
        c.attention(b, lm_heads, n, lm_dim / lm_heads);
        c.linear(b * n, lm_dim, lm_dim, true);
        c.linear(b * n, lm_dim, hidden, true);
        c.linear(b * n, lm_dim, hidden, true);
        c.linear(b * n, hidden, lm_dim, true);
    }
    c.linear(b * n, lm_dim, vocab, true);
    c.0
}

fn vit_block(c: &mut Count, b: usize, n: usize, dim: usize, heads: usize) {
    c.linear(b * n, dim, 3 * dim, true);
    c.attention(b, heads, n, dim / heads);
    c.linear(b * n, dim, dim, true);
    c.linear(b * n, dim, 4 * dim, true);
    c.linear(b * n, 4 * dim, dim, true);
}

fn convnext_block(c: &mut Count, b: usize, side: usize, ch: usize) {
    let m = b * side * side;
    c.conv(m * ch, 7 * 7, true);
    c.linear(m, ch, 4 * ch, true);
    c.linear(m, 4 * ch, ch, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes() -> BenchShapes {
        BenchShapes {
            batch: 2,
            experts: vec![("clip".into(), 16, 1, 2, 32, 4)],
            fusion: "channel-concat".into(),
            grid: 4,
            lm: (16, 1, 2, 50),
            text_len: 8,
            visual_tokens: 16,
            lr: (1e-3, 0.1),
        }
    }

    #[test]
    fn counts_a_small_cell_by_hand() {
        // clip: 16 tokens of 192 → 16 (no input grad), one block at width 16, 2 heads of 8.
        let clip = 2.0 * (32 * 192 * 16) as f64 * 2.0
            + 3.0 * 2.0 * (32 * 16 * (48 + 16 + 64) + 32 * 64 * 16) as f64
            + 12.0 * (2 * 2 * 16 * 16 * 8) as f64;
        // fusion: 16 tokens of 16 channels → 16 → 16.
        let fusion = 3.0 * 2.0 * (32 * 16 * 16 * 2) as f64;
        // LM: 24 tokens, hidden 48 (16·8/3 = 42 → 48), vocabulary 50.
        let lm = 3.0 * 2.0 * (48 * 16 * (48 + 16 + 48 + 48) + 48 * 48 * 16 + 48 * 16 * 50) as f64
            + 12.0 * (2 * 2 * 24 * 24 * 8) as f64;
        assert_eq!(training_step(&shapes()), clip + fusion + lm);
    }

    #[test]
    fn grows_linearly_in_the_batch() {
        let mut s = shapes();
        let one = training_step(&s);
        s.batch = 6;
        assert_eq!(training_step(&s), 3.0 * one);
    }
}
