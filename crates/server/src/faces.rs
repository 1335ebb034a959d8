//! A person's photo, made safe to store and to show: decoded within limits (a file that claims
//! more pixels than a photo needs, or would take more memory to decode, is refused before it is
//! decoded), turned upright by its EXIF orientation, cropped square from the centre, and
//! re-encoded as JPEG at each size the clients use. What was uploaded is never kept, so nothing
//! of its metadata (GPS position, camera, editing history) survives.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The sizes stored, in pixels: list rows, panels, the profile and the console, at 1× and 2×.
pub const SIZES: [u32; 4] = [32, 64, 128, 256];

/// At most this many bytes are accepted as a photo.
pub const MAX_UPLOAD: usize = 5 * 1024 * 1024;

/// At most this many pixels on each side.
pub const MAX_SIDE: u32 = 6000;

/// The decoder may hold at most this much at once (a 6000 × 6000 RGBA image is 137 MiB).
const MAX_DECODE: u64 = 160 * 1024 * 1024;

/// The smallest photo worth keeping, on its shorter side.
const MIN_SIDE: u32 = 16;

/// A photo, ready to store: the same picture at each of [`SIZES`], as JPEG.
#[derive(Debug, Clone)]
pub struct Face {
    /// Names this photo among a person's photos: its ETag, and how a client knows its copy is
    /// current. A hash of the largest size.
    pub version: String,
    pub sizes: Vec<(u32, Vec<u8>)>,
}

/// Why a photo was refused, in words that say what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaceError {
    #[error("the photo is {0} bytes: use one of at most 5 MiB")]
    TooLarge(usize),
    #[error("this is not a PNG, JPEG or WebP image: choose a photo in one of those formats")]
    NotAnImage,
    #[error("{0} images are not accepted: choose a PNG, JPEG or WebP photo")]
    Format(String),
    #[error("the photo is {0} × {1} pixels: use one of at most {MAX_SIDE} pixels on each side")]
    Dimensions(u32, u32),
    #[error("the photo is {0} × {1} pixels: use one of at least {MIN_SIDE} pixels on each side")]
    TooSmall(u32, u32),
    #[error("the photo would take too much memory to decode: use a smaller one")]
    Memory,
    #[error(
        "the photo could not be read ({0}): it may be damaged; export it again or choose another"
    )]
    Damaged(String),
}

/// Decodes, checks and re-encodes a photo. CPU-bound (tens of milliseconds for a large photo):
/// run it off the async threads.
pub fn prepare(bytes: &[u8]) -> Result<Face, FaceError> {
    if bytes.len() > MAX_UPLOAD {
        return Err(FaceError::TooLarge(bytes.len()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FaceError::Damaged(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) => {}
        Some(other) => return Err(FaceError::Format(format!("{other:?}"))),
        None => return Err(FaceError::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refused)?;
    let (w, h) = decoder.dimensions();
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(FaceError::Dimensions(w, h));
    }
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(FaceError::TooSmall(w, h));
    }
    // The decoded image, before a byte of it is allocated (`ImageReader::decode` checks the
    // same; `into_decoder`, used here for the orientation, leaves it to the caller).
    if decoder.total_bytes() > MAX_DECODE {
        return Err(FaceError::Memory);
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(refused)?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    // Transparent parts (a logo) on white, as JPEG has no transparency.
    let image = on_white(image);
    let side = image.width().min(image.height());
    let square = image::imageops::crop_imm(
        &image,
        (image.width() - side) / 2,
        (image.height() - side) / 2,
        side,
        side,
    )
    .to_image();
    let mut sizes = Vec::with_capacity(SIZES.len());
    // Each size from the next larger one: a large photo is scaled down once, in steps.
    let mut from = square;
    for &size in SIZES.iter().rev() {
        let scaled = if from.width() == size {
            from.clone()
        } else {
            image::imageops::resize(&from, size, size, image::imageops::FilterType::Lanczos3)
        };
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88)
            .encode_image(&scaled)
            .map_err(|e| FaceError::Damaged(e.to_string()))?;
        sizes.push((size, out));
        from = scaled;
    }
    sizes.reverse();
    let largest = &sizes.last().expect("four sizes").1;
    let version = hex::encode(&Sha256::digest(largest)[..8]);
    Ok(Face { version, sizes })
}

/// The stored size to serve for a request of `wanted` pixels: the smallest at least that large,
/// else the largest.
pub fn size_for(wanted: Option<u32>) -> u32 {
    let wanted = wanted.unwrap_or(64);
    SIZES
        .iter()
        .copied()
        .find(|&s| s >= wanted)
        .unwrap_or(SIZES[SIZES.len() - 1])
}

fn on_white(image: DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let mix = |c: u8| ((c as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8;
        image::Rgb([mix(r), mix(g), mix(b)])
    })
}

fn refused(e: image::ImageError) -> FaceError {
    use image::error::ImageError;
    match e {
        ImageError::Limits(_) => FaceError::Memory,
        ImageError::Unsupported(_) => FaceError::NotAnImage,
        other => FaceError::Damaged(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 256) as u8, 80, 160]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_photo_is_stored_square_at_every_size_as_jpeg() {
        let face = prepare(&png(300, 200)).unwrap();
        assert_eq!(face.sizes.len(), 4);
        for (size, bytes) in &face.sizes {
            let img = image::load_from_memory(bytes).unwrap();
            assert_eq!((img.width(), img.height()), (*size, *size));
            assert_eq!(
                image::guess_format(bytes).unwrap(),
                ImageFormat::Jpeg,
                "{size}"
            );
        }
        assert_eq!(face.version.len(), 16);
        // The same photo gives the same version; another gives another.
        assert_eq!(prepare(&png(300, 200)).unwrap().version, face.version);
        assert_ne!(prepare(&png(200, 300)).unwrap().version, face.version);
    }

    #[test]
    fn what_is_not_a_photo_is_refused_with_words() {
        assert_eq!(prepare(b"hello").unwrap_err(), FaceError::NotAnImage);
        assert_eq!(
            prepare(&png(8, 40)).unwrap_err(),
            FaceError::TooSmall(8, 40)
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(matches!(prepare(gif).unwrap_err(), FaceError::Format(_)));
        let big = vec![0u8; MAX_UPLOAD + 1];
        assert_eq!(
            prepare(&big).unwrap_err(),
            FaceError::TooLarge(MAX_UPLOAD + 1)
        );
    }

    #[test]
    fn sizes_round_up_to_a_stored_one() {
        assert_eq!(size_for(None), 64);
        assert_eq!(size_for(Some(1)), 32);
        assert_eq!(size_for(Some(40)), 64);
        assert_eq!(size_for(Some(128)), 128);
        assert_eq!(size_for(Some(4000)), 256);
    }
}
