//! QR codes for people: in the terminal (half-block characters, two modules per character
//! cell, black on white so any terminal theme scans) and as PNG or SVG files.

use std::path::Path;

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border around the code.
const TERMINAL_QUIET_ZONE: usize = 2;
const FILE_QUIET_ZONE: usize = 4;
/// Pixels per module in PNG files.
const PNG_SCALE: usize = 8;

fn encode(payload: &str) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L)
        .map_err(|error| format!("cannot encode the QR code: {error}"))
}

/// The code as rows of booleans (true = dark), with a quiet zone.
fn modules(code: &QrCode, quiet: usize) -> Vec<Vec<bool>> {
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * quiet;
    let mut rows = vec![vec![false; size]; size];
    for y in 0..width {
        for x in 0..width {
            rows[y + quiet][x + quiet] = colors[y * width + x] == Color::Dark;
        }
    }
    rows
}

/// The code as terminal text: `▀`, `▄`, `█` and spaces, two module rows per line. With
/// `ansi`, it is drawn black on white whatever the terminal's colours.
pub fn render_terminal(payload: &str, ansi: bool) -> Result<String, String> {
    let rows = modules(&encode(payload)?, TERMINAL_QUIET_ZONE);
    let mut text = String::new();
    for pair in rows.chunks(2) {
        if ansi {
            text.push_str("\x1b[30;47m");
        }
        for x in 0..pair[0].len() {
            let top = pair[0][x];
            let bottom = pair.get(1).is_some_and(|row| row[x]);
            text.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        if ansi {
            text.push_str("\x1b[0m");
        }
        text.push('\n');
    }
    Ok(text)
}

/// Writes the code to `path`, as PNG or SVG by its extension.
pub fn write_file(payload: &str, path: &Path) -> Result<(), String> {
    let code = encode(payload)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("png") => png_bytes(&code)?,
        Some("svg") => code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(320, 320)
            .build()
            .into_bytes(),
        _ => {
            return Err(format!(
                "{}: the QR file must end in .png or .svg",
                path.display()
            ))
        }
    };
    let temp = path.with_extension("part");
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn png_bytes(code: &QrCode) -> Result<Vec<u8>, String> {
    let rows = modules(code, FILE_QUIET_ZONE);
    let size = rows.len() * PNG_SCALE;
    let mut pixels = Vec::with_capacity(size * size);
    for row in &rows {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&dark| std::iter::repeat_n(if dark { 0 } else { 255 }, PNG_SCALE))
            .collect();
        for _ in 0..PNG_SCALE {
            pixels.extend_from_slice(&line);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size as u32, size as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|error| format!("cannot encode PNG: {error}"))?;
        writer
            .write_image_data(&pixels)
            .map_err(|error| format!("cannot encode PNG: {error}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload shaped like whatsapp-rust's `PairingQrCode` (ref, noise key, identity key,
    /// adv secret, platform).
    const PAYLOAD: &str = "2@Q0H1xVd3mKjz8cFb4yTRuWnZp5sXaLgE9oYhBqJiNvC7tMkD2fUeGwSrPlA6,\
        xWm3RtYd9k+Hq7LcVbN2pJfGzKsA8uEoT1iXyUe5nQw=,\
        Fh8sLk2PqW9mZx4vBc7NdR1tYg6uJe3aKo5iSwVyTnM=,\
        Pq2Lm8Zx7Vb1Nc4Rt6Yu9Ie3Wo5As0Dk+Fh/Gj=,1";

    /// Reads a terminal rendering back into modules, the way a camera sees it.
    fn modules_from_terminal(text: &str) -> Vec<Vec<bool>> {
        let clean: String = text.replace("\x1b[30;47m", "").replace("\x1b[0m", "");
        let mut rows = Vec::new();
        for line in clean.lines() {
            let (top, bottom): (Vec<bool>, Vec<bool>) = line
                .chars()
                .map(|c| match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                })
                .unzip();
            rows.push(top);
            rows.push(bottom);
        }
        rows
    }

    fn decode(rows: &[Vec<bool>]) -> String {
        // Each module as a 4x4 block, with a wide white margin, as a camera would see it.
        let scale = 4;
        let margin = 8;
        let size = rows.len() * scale + 2 * margin;
        let width = rows[0].len() * scale + 2 * margin;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, size, |x, y| {
            let (mx, my) = (x.checked_sub(margin), y.checked_sub(margin));
            match (mx, my) {
                (Some(mx), Some(my)) => {
                    let dark = rows
                        .get(my / scale)
                        .and_then(|row| row.get(mx / scale))
                        .copied()
                        .unwrap_or(false);
                    if dark {
                        0
                    } else {
                        255
                    }
                }
                _ => 255,
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the picture");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn the_terminal_rendering_decodes_to_the_exact_payload() {
        for ansi in [false, true] {
            let text = render_terminal(PAYLOAD, ansi).expect("render");
            assert_eq!(
                decode(&modules_from_terminal(&text)),
                PAYLOAD,
                "ansi {ansi}"
            );
        }
    }

    #[test]
    fn png_and_svg_files_are_written() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let png = dir.path().join("qr.png");
        write_file(PAYLOAD, &png)?;
        let bytes = std::fs::read(&png).map_err(|e| e.to_string())?;
        assert_eq!(&bytes[1..4], b"PNG");
        let svg = dir.path().join("qr.svg");
        write_file(PAYLOAD, &svg)?;
        let text = std::fs::read_to_string(&svg).map_err(|e| e.to_string())?;
        assert!(text.contains("<svg"));
        assert!(write_file(PAYLOAD, &dir.path().join("qr.gif")).is_err());
        Ok(())
    }
}
