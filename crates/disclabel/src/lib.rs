//! Disc labels: the face of a 120 mm disc, the spine of its case and sheets of slot labels,
//! laid out by SVG templates with merge fields, with Code 128 barcodes, QR codes, a directory
//! tree and picture thumbnails; rendered as SVG, PNG (at print resolution) or vector PDF with
//! the fonts embedded. Knows nothing of archives: the caller fills [`LabelData`].
//!
//! # Templates
//!
//! A template is an SVG document in millimetres (`width="120mm" viewBox="0 0 120 120"`), edited
//! in any SVG editor. Placeholders in its text are replaced:
//! - `{{name}}`: the merge field `name`, XML-escaped (empty when the field is not given);
//! - `{{barcode:W:H}}`: the Code 128 barcode of [`LabelData::barcode`], W × H mm, drawn from
//!   the current origin (place it with `<g transform="translate(x y)">…</g>`);
//! - `{{qrcode:S}}`: the QR code of [`LabelData::qr`], S × S mm;
//! - `{{tree:L:SIZE}}`: at most L lines of [`LabelData::tree`], SIZE mm high text;
//!   `{{tree:L:SIZE:FROM}}` begins at line FROM (0 first), to go on elsewhere on the label;
//! - `{{thumbnails:N:S}}`: up to N pictures in a row, each in an S × S mm box.
//!
//! [`DESIGNS`] are the templates shipped, several of each [`LabelKind`]; `docs/LABELS.md` of
//! discvault shows them and how to make one's own.

use base64::Engine as _;
use resvg::{tiny_skia, usvg};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("template: {0}")]
    Template(String),
    #[error("barcode {value:?}: {detail}")]
    Barcode { value: String, detail: String },
    #[error("QR code: {0}")]
    Qr(String),
    #[error("SVG: {0}")]
    Svg(String),
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("PNG: {0}")]
    Png(String),
    #[error("font {path}: {detail}")]
    Font { path: PathBuf, detail: String },
}

pub type Result<T> = std::result::Result<T, LabelError>;

/// What a label shows.
#[derive(Debug, Clone, Default)]
pub struct LabelData {
    /// Merge fields by name.
    pub fields: BTreeMap<String, String>,
    /// Value of the Code 128 barcode (printable ASCII).
    pub barcode: String,
    /// Payload of the QR code.
    pub qr: String,
    /// Lines of the directory tree, already indented.
    pub tree: Vec<String>,
    /// Pictures (JPEG, PNG or TIFF file contents).
    pub thumbnails: Vec<Vec<u8>>,
}

/// What a label is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelKind {
    /// The face of a 120 mm disc. Its content is clipped to the printable ring given by the
    /// fields `outer_r`, `outer_top` (60 − outer_r), `inner_r` and `inner_top` (mm).
    Face,
    /// The spine of the disc's case.
    Spine,
    /// One cabinet slot label; [`sheet`] lays them out on A4.
    Slot,
}

impl LabelKind {
    /// `face`, `spine` or `slot`.
    pub fn parse(s: &str) -> Option<LabelKind> {
        match s {
            "face" => Some(LabelKind::Face),
            "spine" => Some(LabelKind::Spine),
            "slot" => Some(LabelKind::Slot),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Face => "face",
            LabelKind::Spine => "spine",
            LabelKind::Slot => "slot",
        }
    }
}

/// A template shipped with the codec.
#[derive(Debug, Clone, Copy)]
pub struct Design {
    pub name: &'static str,
    pub kind: LabelKind,
    /// What it is for, in a line.
    pub about: &'static str,
    pub svg: &'static str,
}

/// The templates shipped with the codec, the default (`standard`) of each kind first.
pub const DESIGNS: &[Design] = &[
    Design {
        name: "standard",
        kind: LabelKind::Face,
        about: "metadata, the top of the directory tree, QR code, picture thumbnails, barcode",
        svg: include_str!("../templates/face-standard.svg"),
    },
    Design {
        name: "tree",
        kind: LabelKind::Face,
        about: "metadata and the directory tree at its largest (13 lines), barcode; no pictures",
        svg: include_str!("../templates/face-tree.svg"),
    },
    Design {
        name: "plain",
        kind: LabelKind::Face,
        about: "large text and the barcode only, for one-colour printers",
        svg: include_str!("../templates/face-plain.svg"),
    },
    Design {
        name: "standard",
        kind: LabelKind::Spine,
        about: "a 10 mm jewel case (118 × 6 mm) with the copy's barcode",
        svg: include_str!("../templates/spine-standard.svg"),
    },
    Design {
        name: "slim",
        kind: LabelKind::Spine,
        about: "a 5 mm slim case (118 × 4.5 mm) with the copy's barcode",
        svg: include_str!("../templates/spine-slim.svg"),
    },
    Design {
        name: "standard",
        kind: LabelKind::Slot,
        about: "66 × 33 mm, 24 on an A4 sheet (3 × 8)",
        svg: include_str!("../templates/slot-standard.svg"),
    },
    Design {
        name: "small",
        kind: LabelKind::Slot,
        about: "48.5 × 25.4 mm, 44 on an A4 sheet (4 × 11)",
        svg: include_str!("../templates/slot-small.svg"),
    },
];

/// The shipped template of a kind with a name.
pub fn design(kind: LabelKind, name: &str) -> Option<&'static Design> {
    DESIGNS.iter().find(|d| d.kind == kind && d.name == name)
}

/// The default disc face (`standard`).
pub const DISC_TEMPLATE: &str = DESIGNS[0].svg;
/// The default case spine (`standard`).
pub const SPINE_TEMPLATE: &str = DESIGNS[3].svg;
/// The default slot label (`standard`).
pub const SLOT_TEMPLATE: &str = DESIGNS[5].svg;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(s: &str, what: &str) -> Result<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| LabelError::Template(format!("{{{{{what}}}}}: {s:?} is not a size")))
}

/// Fills a template's placeholders.
pub fn fill(template: &str, data: &LabelData) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| LabelError::Template("a \"{{\" without \"}}\"".into()))?;
        let spec = after[..end].trim();
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let arg = |i: usize, default: &'static str| -> String {
            args.get(i).copied().unwrap_or(default).to_string()
        };
        match name {
            "barcode" => out.push_str(&code128_svg(
                &data.barcode,
                num(&arg(0, "50"), spec)?,
                num(&arg(1, "10"), spec)?,
            )?),
            "qrcode" => out.push_str(&qr_svg(&data.qr, num(&arg(0, "20"), spec)?)?),
            "tree" => {
                let lines = num(&arg(0, "8"), spec)? as usize;
                let size = num(&arg(1, "2.4"), spec)?;
                let from = num(&arg(2, "0"), spec)? as usize;
                for (i, l) in data.tree.iter().skip(from).take(lines).enumerate() {
                    let _ = write!(
                        out,
                        "<text x=\"0\" y=\"{:.2}\" font-size=\"{size}\" xml:space=\"preserve\">{}</text>",
                        size * (i as f64 + 1.0) * 1.25,
                        esc(l)
                    );
                }
            }
            "thumbnails" => {
                let n = num(&arg(0, "4"), spec)? as usize;
                let s = num(&arg(1, "14"), spec)?;
                // A picture that cannot be decoded is left out, not the label.
                let pngs = data
                    .thumbnails
                    .iter()
                    .filter_map(|img| thumbnail_png(img, 320).ok())
                    .take(n);
                for (i, png) in pngs.enumerate() {
                    let _ = write!(
                        out,
                        "<image x=\"{:.2}\" y=\"0\" width=\"{s}\" height=\"{s}\" preserveAspectRatio=\"xMidYMid meet\" href=\"data:image/png;base64,{}\"/>",
                        i as f64 * (s + 1.0),
                        base64::engine::general_purpose::STANDARD.encode(png)
                    );
                }
            }
            field => {
                if field.is_empty()
                    || !field
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(LabelError::Template(format!(
                        "{{{{{spec}}}}}: not a merge field name"
                    )));
                }
                out.push_str(&esc(data
                    .fields
                    .get(field)
                    .map(String::as_str)
                    .unwrap_or("")));
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A Code 128 barcode as SVG rectangles in a `width` × `height` box (mm), quiet zones included.
pub fn code128_svg(value: &str, width: f64, height: f64) -> Result<String> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(LabelError::Barcode {
            value: value.into(),
            detail: "Code 128 takes 1 or more printable ASCII characters".into(),
        });
    }
    let code = barcoders::sym::code128::Code128::new(format!("\u{0181}{value}")).map_err(|e| {
        LabelError::Barcode {
            value: value.into(),
            detail: e.to_string(),
        }
    })?;
    let modules = code.encode();
    let quiet = 10usize;
    let unit = width / (modules.len() + 2 * quiet) as f64;
    let mut s =
        format!("<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>");
    let mut i = 0;
    while i < modules.len() {
        if modules[i] == 1 {
            let start = i;
            while i < modules.len() && modules[i] == 1 {
                i += 1;
            }
            let _ = write!(
                s,
                "<rect x=\"{:.4}\" y=\"0\" width=\"{:.4}\" height=\"{height}\" fill=\"#000\"/>",
                (quiet + start) as f64 * unit,
                (i - start) as f64 * unit
            );
        } else {
            i += 1;
        }
    }
    Ok(s)
}

/// A QR code (error correction M) as SVG in a `size` × `size` box (mm), quiet zone included.
pub fn qr_svg(payload: &str, size: f64) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| LabelError::Qr(e.to_string()))?;
    let w = code.width();
    let quiet = 4;
    let unit = size / (w + 2 * quiet) as f64;
    let colors = code.to_colors();
    let mut path = String::new();
    for y in 0..w {
        for x in 0..w {
            if colors[y * w + x] == qrcode::Color::Dark {
                let _ = write!(
                    path,
                    "M{:.4} {:.4}h{u:.4}v{u:.4}h-{u:.4}z",
                    (x + quiet) as f64 * unit,
                    (y + quiet) as f64 * unit,
                    u = unit
                );
            }
        }
    }
    Ok(format!(
        "<rect x=\"0\" y=\"0\" width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\" shape-rendering=\"crispEdges\"/>"
    ))
}

/// A picture scaled to fit `px` × `px`, as PNG.
fn thumbnail_png(bytes: &[u8], px: u32) -> Result<Vec<u8>> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| LabelError::Template(format!("thumbnail: {e}")))?;
    let t = img.thumbnail(px, px);
    let mut out = std::io::Cursor::new(Vec::new());
    t.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| LabelError::Png(e.to_string()))?;
    Ok(out.into_inner())
}

/// Sheets of labels: each filled slot template placed on an A4 page in a grid centred on the
/// page: the template's `data-sheet-grid="COLSxROWS"` (that of the label stock it is made
/// for), else as many columns and rows as fit on the sheet.
pub fn sheet(template: &str, labels: &[LabelData]) -> Result<Vec<String>> {
    let (w, h) = template_size(template)?;
    let fit = |page: f64, size: f64| (page / size).floor();
    if !(w > 0.0 && h > 0.0 && fit(210.0, w) >= 1.0 && fit(297.0, h) >= 1.0) {
        return Err(LabelError::Template(format!(
            "a {w} × {h} mm label does not fit on an A4 sheet"
        )));
    }
    let (cols, rows) = match sheet_grid(template)? {
        Some((c, r)) => {
            if c as f64 * w > 210.0 + 1e-6 || r as f64 * h > 297.0 + 1e-6 {
                return Err(LabelError::Template(format!(
                    "data-sheet-grid {c}x{r} of {w} × {h} mm labels does not fit on an A4 sheet"
                )));
            }
            (c, r)
        }
        None => (fit(210.0, w) as usize, fit(297.0, h) as usize),
    };
    let (mx, my) = (
        (210.0 - w * cols as f64) / 2.0,
        (297.0 - h * rows as f64) / 2.0,
    );
    let mut pages = Vec::new();
    for chunk in labels.chunks((cols * rows).max(1)) {
        let mut page = String::from("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\">");
        for (i, l) in chunk.iter().enumerate() {
            let inner = fill(template, l)?;
            let _ = write!(
                page,
                "<svg x=\"{:.2}\" y=\"{:.2}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">{}</svg>",
                mx + (i % cols) as f64 * w,
                my + (i / cols) as f64 * h,
                strip_svg_root(&inner)
            );
        }
        page.push_str("</svg>");
        pages.push(page);
    }
    Ok(pages)
}

/// The grid a template asks for (`data-sheet-grid="3x8"` on its root element), if any.
fn sheet_grid(t: &str) -> Result<Option<(usize, usize)>> {
    let root = &t[..t.find('>').unwrap_or(t.len())];
    let Some(v) = root
        .split("data-sheet-grid=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
    else {
        return Ok(None);
    };
    let grid = v
        .split_once('x')
        .and_then(|(c, r)| Some((c.trim().parse().ok()?, r.trim().parse().ok()?)))
        .filter(|&(c, r): &(usize, usize)| (1..=50).contains(&c) && (1..=50).contains(&r));
    grid.map(Some)
        .ok_or_else(|| LabelError::Template(format!("data-sheet-grid {v:?}: COLSxROWS, as 3x8")))
}

/// The viewBox size of a template, in mm.
fn template_size(t: &str) -> Result<(f64, f64)> {
    let vb = t
        .split("viewBox=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or_else(|| LabelError::Template("the template has no viewBox".into()))?;
    let v: Vec<f64> = vb
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [_, _, w, h] => Ok((w, h)),
        _ => Err(LabelError::Template(format!("viewBox {vb:?}"))),
    }
}

/// The content of an SVG document without its root element (to nest it).
fn strip_svg_root(svg: &str) -> &str {
    let start = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    &svg[start..end.max(start)]
}

/// Fonts for rendering.
#[derive(Debug, Clone, Default)]
pub struct Fonts {
    /// Font files to load besides the system's (a CJK font, say).
    pub files: Vec<PathBuf>,
    /// Family used where the template names none, or names one that is missing.
    pub family: String,
}

fn tree_of(svg: &str, fonts: &Fonts) -> Result<usvg::Tree> {
    let mut opt = usvg::Options::default();
    {
        let db = opt.fontdb_mut();
        db.load_system_fonts();
        for f in &fonts.files {
            db.load_font_file(f).map_err(|e| LabelError::Font {
                path: f.clone(),
                detail: e.to_string(),
            })?;
        }
    }
    if !fonts.family.is_empty() {
        opt.font_family = fonts.family.clone();
    }
    usvg::Tree::from_str(svg, &opt).map_err(|e| LabelError::Svg(e.to_string()))
}

fn raster(svg: &str, fonts: &Fonts, dpi: f32) -> Result<tiny_skia::Pixmap> {
    let tree = tree_of(svg, fonts)?;
    // usvg sizes are in CSS px (96 per inch).
    let scale = dpi / 96.0;
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale).ceil() as u32,
        (size.height() * scale).ceil() as u32,
    );
    let mut pixmap =
        tiny_skia::Pixmap::new(w, h).ok_or_else(|| LabelError::Png(format!("{w} × {h} pixels")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

/// Renders an SVG label to PNG at `dpi` (white background).
pub fn to_png(svg: &str, fonts: &Fonts, dpi: f32) -> Result<Vec<u8>> {
    raster(svg, fonts, dpi)?
        .encode_png()
        .map_err(|e| LabelError::Png(e.to_string()))
}

/// Raster formats disc printers take besides PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintFormat {
    /// JPEG, quality 92 (PTBurn's `PrintLabel`).
    Jpeg,
    /// 24-bit BMP.
    Bmp,
}

/// Renders an SVG label to JPEG or BMP at `dpi` (white background, no alpha).
pub fn to_print(svg: &str, fonts: &Fonts, dpi: f32, format: PrintFormat) -> Result<Vec<u8>> {
    let pixmap = raster(svg, fonts, dpi)?;
    let (w, h) = (pixmap.width(), pixmap.height());
    // Opaque on white: the premultiplied colour is the colour.
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut out = Vec::new();
    let err = |e: image::ImageError| LabelError::Png(e.to_string());
    match format {
        PrintFormat::Jpeg => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .map_err(err)?,
        PrintFormat::Bmp => image::codecs::bmp::BmpEncoder::new(&mut out)
            .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .map_err(err)?,
    }
    Ok(out)
}

/// Renders SVG pages to one vector PDF, fonts embedded (subset).
pub fn to_pdf(pages: &[String], fonts: &Fonts) -> Result<Vec<u8>> {
    match pages {
        [one] => {
            let tree = tree_of(one, fonts)?;
            svg2pdf::to_pdf(
                &tree,
                svg2pdf::ConversionOptions::default(),
                svg2pdf::PageOptions { dpi: 96.0 },
            )
            .map_err(|e| LabelError::Pdf(e.to_string()))
        }
        _ => {
            // Several pages: one tall SVG would not do; render each and join them as pages.
            let trees = pages
                .iter()
                .map(|p| tree_of(p, fonts))
                .collect::<Result<Vec<_>>>()?;
            multi_page_pdf(&trees)
        }
    }
}

fn multi_page_pdf(trees: &[usvg::Tree]) -> Result<Vec<u8>> {
    use pdf_writer::{Finish, Name, Pdf, Rect, Ref};
    let mut alloc = Ref::new(1);
    let catalog = alloc.bump();
    let page_tree = alloc.bump();
    let mut pdf = Pdf::new();
    let mut page_ids = Vec::new();
    let mut chunks = Vec::new();
    for t in trees {
        let (chunk, svg_id) = svg2pdf::to_chunk(t, svg2pdf::ConversionOptions::default())
            .map_err(|e| LabelError::Pdf(e.to_string()))?;
        let mut map = std::collections::HashMap::new();
        let chunk = chunk.renumber(|old| *map.entry(old).or_insert_with(|| alloc.bump()));
        let svg_id = map
            .get(&svg_id)
            .copied()
            .ok_or_else(|| LabelError::Pdf("lost the page".into()))?;
        let page = alloc.bump();
        let content = alloc.bump();
        let (w, h) = (t.size().width() * 0.75, t.size().height() * 0.75);
        page_ids.push((page, content, svg_id, w, h));
        chunks.push(chunk);
    }
    pdf.catalog(catalog).pages(page_tree);
    pdf.pages(page_tree)
        .kids(page_ids.iter().map(|p| p.0))
        .count(page_ids.len() as i32);
    for (page, content, svg_id, w, h) in &page_ids {
        let name = Name(b"S1");
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, *w, *h));
        p.parent(page_tree);
        p.contents(*content);
        p.resources().x_objects().pair(name, *svg_id);
        p.finish();
        let mut c = pdf_writer::Content::new();
        c.transform([*w, 0.0, 0.0, *h, 0.0, 0.0]);
        c.x_object(name);
        pdf.stream(*content, &c.finish());
    }
    for chunk in &chunks {
        pdf.extend(chunk);
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> Vec<(String, String)> {
        let img = image::load_from_memory(png).unwrap().to_luma8();
        let (w, h) = img.dimensions();
        let mut hints = rxing::DecodeHints {
            TryHarder: Some(true),
            ..Default::default()
        };
        let results =
            rxing::helpers::detect_multiple_in_luma_with_hints(img.into_raw(), w, h, &mut hints)
                .unwrap_or_default();
        let mut out: Vec<(String, String)> = results
            .iter()
            .map(|r| {
                (
                    format!("{:?}", r.getBarcodeFormat()),
                    r.getText().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn data() -> LabelData {
        LabelData {
            fields: BTreeMap::from([
                ("outer_r".to_string(), "59".to_string()),
                ("outer_top".to_string(), "1".to_string()),
                ("inner_r".to_string(), "11.5".to_string()),
                ("inner_top".to_string(), "48.5".to_string()),
                ("title".to_string(), "文书档案 2024 <卷>".to_string()),
                ("volume_id".to_string(), "DV-000001".to_string()),
            ]),
            barcode: "DV-000001-C2".into(),
            qr: "discvault:DV-000001;copy=DV-000001-C2;sha256=ab12".into(),
            tree: vec!["全宗-J001/".into(), "  2024/ (12 files)".into()],
            thumbnails: Vec::new(),
        }
    }

    #[test]
    fn fields_are_escaped_and_unknown_placeholders_refused() {
        let t = "<svg viewBox=\"0 0 10 10\"><text>{{title}}|{{missing}}</text></svg>";
        let s = fill(t, &data()).unwrap();
        assert!(s.contains("文书档案 2024 &lt;卷&gt;|<"), "{s}");
        assert!(fill("{{bad name}}", &data()).is_err());
        assert!(fill("{{title", &data()).is_err());
        assert!(fill("{{barcode:wide}}", &data()).is_err());
    }

    #[test]
    fn the_barcode_and_qr_code_of_a_rendered_disc_face_decode_back() {
        let svg = fill(DISC_TEMPLATE, &data()).unwrap();
        let png = to_png(&svg, &Fonts::default(), 300.0).unwrap();
        let found = decode(&png);
        assert!(
            found.contains(&("CODE_128".into(), "DV-000001-C2".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                "QR_CODE".into(),
                "discvault:DV-000001;copy=DV-000001-C2;sha256=ab12".into()
            )),
            "{found:?}"
        );
    }

    #[test]
    fn every_shipped_template_renders_with_a_barcode_that_decodes_back() {
        let mut names = std::collections::BTreeSet::new();
        for d in DESIGNS {
            assert!(names.insert((d.kind, d.name)), "{} twice", d.name);
            let mut data = data();
            data.tree = (0..20).map(|i| format!("  目录{i:02}/ ({i})")).collect();
            let svg = if d.kind == LabelKind::Slot {
                data.fields.insert("position".into(), "本馆/A/1/3".into());
                sheet(d.svg, &[data]).unwrap().remove(0)
            } else {
                fill(d.svg, &data).unwrap()
            };
            let png = to_png(&svg, &Fonts::default(), 600.0).unwrap();
            let found = decode(&png);
            assert!(
                found.contains(&("CODE_128".into(), "DV-000001-C2".into())),
                "{} {}: {found:?}",
                d.kind.as_str(),
                d.name
            );
            if d.kind == LabelKind::Face {
                // The tree's lines shown are those the template asks for, each once.
                let shown: Vec<usize> = (0..20)
                    .filter(|i| svg.contains(&format!("目录{i:02}/")))
                    .collect();
                let want = match d.name {
                    "tree" => 13,
                    "plain" => 0,
                    _ => 7,
                };
                assert_eq!(shown, (0..want).collect::<Vec<_>>(), "{}", d.name);
                let qr = found.iter().any(|(kind, _)| kind == "QR_CODE");
                assert_eq!(qr, d.name == "standard", "{}: {found:?}", d.name);
            }
        }
        assert_eq!(
            design(LabelKind::Face, "standard").unwrap().svg,
            DISC_TEMPLATE
        );
        assert_eq!(
            design(LabelKind::Spine, "standard").unwrap().svg,
            SPINE_TEMPLATE
        );
        assert_eq!(
            design(LabelKind::Slot, "standard").unwrap().svg,
            SLOT_TEMPLATE
        );
        assert!(design(LabelKind::Spine, "tree").is_none());
    }

    #[test]
    fn the_barcode_of_a_rendered_case_spine_decodes_back() {
        let svg = fill(SPINE_TEMPLATE, &data()).unwrap();
        let png = to_png(&svg, &Fonts::default(), 600.0).unwrap();
        let found = decode(&png);
        assert!(
            found.contains(&("CODE_128".into(), "DV-000001-C2".into())),
            "{found:?}"
        );
    }

    #[test]
    fn barcodes_refuse_what_code128_cannot_carry() {
        assert!(code128_svg("封存", 50.0, 10.0).is_err());
        assert!(code128_svg("", 50.0, 10.0).is_err());
    }

    #[test]
    fn a_sheet_has_as_many_pages_as_needed_and_makes_one_pdf() {
        let labels: Vec<LabelData> = (0..25)
            .map(|i| LabelData {
                barcode: format!("BC{i:04}"),
                fields: BTreeMap::from([("position".to_string(), format!("A/1/{i}"))]),
                ..Default::default()
            })
            .collect();
        let pages = sheet(SLOT_TEMPLATE, &labels).unwrap();
        assert_eq!(pages.len(), 2, "24 on a page");
        assert_eq!(pages[1].matches("A/1/").count(), 1);
        let small = sheet(design(LabelKind::Slot, "small").unwrap().svg, &labels).unwrap();
        assert_eq!(small.len(), 1, "44 on a page");
        let huge = "<svg viewBox=\"0 0 300 20\">{{position}}</svg>";
        assert!(sheet(huge, &labels).unwrap_err().to_string().contains("A4"));
        // Common 24-up stock (70 × 37 mm, no margins) without a grid: 3 × 8, as printed.
        let stock = "<svg viewBox=\"0 0 70 37\">{{position}}</svg>";
        assert_eq!(sheet(stock, &labels).unwrap().len(), 2, "24 on a page");
        let two = "<svg data-sheet-grid=\"2x6\" viewBox=\"0 0 70 37\">{{position}}</svg>";
        assert_eq!(sheet(two, &labels).unwrap().len(), 3, "12 on a page");
        let bad = "<svg data-sheet-grid=\"4x9\" viewBox=\"0 0 70 37\">{{position}}</svg>";
        assert!(sheet(bad, &labels).unwrap_err().to_string().contains("4x9"));
        let pdf = to_pdf(&pages, &Fonts::default()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Count 2"), "two pages");
    }
}
