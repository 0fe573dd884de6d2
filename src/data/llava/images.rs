//! Images of LLaVA-format data: read (PNG or JPEG), padded to a square and resized to an expert's
//! side, as LLaVA-1.5's `pad` aspect-ratio mode does (Liu et al. 2023), then normalised as Eyrie's
//! own data is, so that every expert sees them exactly as it sees the proxy world's.

use super::LlavaError;
use crate::data::pool::{PIXEL_MEAN, PIXEL_STD};
use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use std::path::Path;

/// The colour the padding takes: the mid grey of Eyrie's normalisation (LLaVA pads with its image
/// processor's mean, about this grey for CLIP's statistics).
const PAD: u8 = (PIXEL_MEAN * 255.0) as u8;

/// Reads `path` as RGB bytes of a `side`×`side` square: the image centred on a grey square of its
/// longer side, then resized (bilinear).
pub fn load_square(path: &Path, side: usize) -> Result<Vec<u8>, LlavaError> {
    let img = image::open(path)
        .map_err(|e| LlavaError::Record { path: path.into(), record: "image".into(), message: e.to_string() })?
        .to_rgb8();
    let (w, h) = img.dimensions();
    let n = w.max(h);
    let mut square = RgbImage::from_pixel(n, n, Rgb([PAD; 3]));
    image::imageops::overlay(&mut square, &img, ((n - w) / 2) as i64, ((n - h) / 2) as i64);
    let resized = if n as usize == side {
        square
    } else {
        image::imageops::resize(&square, side as u32, side as u32, FilterType::Triangle)
    };
    Ok(resized.into_raw())
}

/// Appends the channel-first normalised pixels of RGB bytes `rgb` (`side`² pixels) to `out`; a
/// missing image (a text-only record) is all padding grey.
pub fn push_chw(out: &mut Vec<f32>, rgb: Option<&[u8]>, side: usize) {
    let px = side * side;
    let start = out.len();
    out.resize(start + 3 * px, (PAD as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD);
    if let Some(rgb) = rgb {
        for p in 0..px {
            for c in 0..3 {
                out[start + c * px + p] = (rgb[p * 3 + c] as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD;
            }
        }
    }
}
