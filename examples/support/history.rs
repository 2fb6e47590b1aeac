//! Training curves from `nn::History` as a PNG: the loss per epoch (thick: training,
//! thin: validation) and the validation accuracy, one colour per run.

use nn::History;
use plotters::prelude::*;
use std::path::Path;

pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Registers the repository's font as `sans-serif` (plotters draws text with it).
pub fn register_font() -> DrawResult {
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
    )
    .map_err(|_| "the embedded font does not parse")?;
    Ok(())
}

/// Draws `runs` (a name and a history each) into `path`.
pub fn plot(path: &Path, runs: &[(&str, &History)]) -> DrawResult {
    let column = |h: &History, name: &str| h.column(name).unwrap_or_default();
    let root = BitMapBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let epochs = runs.iter().map(|(_, h)| h.rows.len()).max().unwrap_or(1) as u32;
    let colors = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44)];
    let max_loss = runs
        .iter()
        .flat_map(|(_, h)| column(h, "loss").into_iter().chain(column(h, "val_loss")))
        .fold(0.0f64, f64::max);
    let mut chart = ChartBuilder::on(&left)
        .caption("Loss per epoch (thick: training, thin: validation)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(1u32..epochs.max(2), 0.0..max_loss * 1.05)?;
    chart.configure_mesh().x_desc("epoch").y_desc("loss").draw()?;
    for (i, (name, h)) in runs.iter().enumerate() {
        let color = colors[i % colors.len()];
        for (key, width, label) in [("loss", 3, "training"), ("val_loss", 1, "validation")] {
            chart
                .draw_series(LineSeries::new((1..).zip(column(h, key)), color.stroke_width(width)))?
                .label(format!("{name} {label}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width)));
        }
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    let low = runs.iter().flat_map(|(_, h)| column(h, "val_accuracy")).fold(1.0f64, f64::min);
    let mut chart = ChartBuilder::on(&right)
        .caption("Validation accuracy per epoch", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(1u32..epochs.max(2), (low - 0.01).max(0.0)..1.0)?;
    chart.configure_mesh().x_desc("epoch").y_desc("accuracy").draw()?;
    for (i, (name, h)) in runs.iter().enumerate() {
        let color = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new((1..).zip(column(h, "val_accuracy")), color.stroke_width(3)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
