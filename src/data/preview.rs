//! Contact sheets: a grid of rendered samples with each one's question and answer underneath.

use super::render::{render, Image, INK};
use super::rng::Split;
use super::tasks::sample;
use super::tokenizer::Tokenizer;
use crate::spec::Family;
use std::path::Path;

/// Renders `count` test-split samples of `family` at `resolution` into one PNG at `out`.
pub fn contact_sheet(
    family: Family,
    resolution: usize,
    count: usize,
    seed: u64,
    out: &Path,
) -> Result<(), image::ImageError> {
    let t = Tokenizer::new();
    let cols = 4usize.min(count.max(1));
    let rows = count.div_ceil(cols);
    let shown = resolution.max(200);
    let text_h = 11.0;
    let tile_w = shown + 16;
    let tile_h = shown + 64;
    // Characters that fit on one line of a tile (the font's advance is about 0.62 of its height × 1.3).
    let per_line = ((shown as f32) / (text_h * 0.8 * 1.3 * 0.62)) as usize;
    let mut sheet = Image::new(cols * tile_w, rows * tile_h);
    sheet.pixels.iter_mut().for_each(|p| *p = 255);
    for i in 0..count {
        let s = sample(&t, seed, Split::Test, family, i as u64, 3);
        let img = render(&s.scene, resolution);
        let (ox, oy) = ((i % cols) * tile_w + 8, (i / cols) * tile_h + 4);
        // Nearest-neighbour upscale so small resolutions stay visible, pixels honest.
        for y in 0..shown {
            for x in 0..shown {
                let (sx, sy) = (x * resolution / shown, y * resolution / shown);
                let j = (sy * resolution + sx) * 3;
                let c = [img.pixels[j], img.pixels[j + 1], img.pixels[j + 2]];
                sheet.blend((ox + x) as i64, (oy + y) as i64, c, 1.0);
            }
        }
        let q = format!("Q: {}", s.question);
        let mut lines = vec![String::new()];
        for word in q.split(' ') {
            if lines.last().unwrap().len() + word.len() + 1 > per_line {
                lines.push(String::new());
            }
            let l = lines.last_mut().unwrap();
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
        for (k, line) in lines.iter().take(2).enumerate() {
            sheet.text(line, ox as f32, (oy + shown + 4 + k * 14) as f32, text_h * 0.8, INK);
        }
        let a = format!("A: {}", t.decode(&s.answer_ids));
        sheet.text(&a, ox as f32, (oy + shown + 36) as f32, text_h, [180, 30, 30]);
    }
    image::save_buffer(out, &sheet.pixels, sheet.width as u32, sheet.height as u32, image::ExtendedColorType::Rgb8)
}
