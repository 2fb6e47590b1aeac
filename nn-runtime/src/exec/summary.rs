//! The per-layer table and the printable summary, in the style of Keras' `model.summary()`.

use crate::info::LayerInfo;
use std::fmt;

/// A printable description of a network: [`fmt::Display`] renders the table.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub name: &'static str,
    pub input_shape: &'static [usize],
    pub layers: &'static [LayerInfo],
    pub params: usize,
    pub flops: u64,
    pub activation_elements: usize,
    pub element_bytes: usize,
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn shape(dims: &[usize]) -> String {
    let inner: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", inner.join(", "))
}

/// Bytes in binary units, e.g. `4.3 KiB`.
fn bytes(n: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 3]> = self
            .layers
            .iter()
            .map(|l| {
                let label = if l.key.parse::<usize>().is_ok() {
                    format!("{} ({})", l.key, l.written)
                } else {
                    format!("{}: {}", l.key, l.written)
                };
                [label, shape(l.output_shape), thousands(l.params as u128)]
            })
            .collect();
        let headers = ["Layer (type)", "Output Shape", "Param #"];
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let total = widths.iter().sum::<usize>() + 6;
        writeln!(f, "Model: \"{}\"   input {}", self.name, shape(self.input_shape))?;
        let row = |f: &mut fmt::Formatter<'_>, cells: [&str; 3]| {
            let [w0, w1, w2] = widths;
            writeln!(f, " {:<w0$}  {:<w1$}  {:>w2$}", cells[0], cells[1], cells[2])
        };
        writeln!(f, "{}", "━".repeat(total))?;
        row(f, headers)?;
        writeln!(f, "{}", "━".repeat(total))?;
        for (i, cells) in rows.iter().enumerate() {
            row(f, [&cells[0], &cells[1], &cells[2]])?;
            if i + 1 < rows.len() {
                writeln!(f, "{}", "─".repeat(total))?;
            }
        }
        writeln!(f, "{}", "━".repeat(total))?;
        let param_bytes = self.params as u128 * self.element_bytes as u128;
        writeln!(f, " Total params: {} ({})", thousands(self.params as u128), bytes(param_bytes))?;
        writeln!(f, " Trainable params: {} ({})", thousands(self.params as u128), bytes(param_bytes))?;
        writeln!(f, " Non-trainable params: 0 (0 B)")?;
        writeln!(f, " Forward FLOPs per sample: {}", thousands(self.flops as u128))?;
        write!(
            f,
            " Activations per sample: {} values ({})",
            thousands(self.activation_elements as u128),
            bytes(self.activation_elements as u128 * self.element_bytes as u128)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(61_706), "61,706");
        assert_eq!(thousands(36_578_315_010), "36,578,315,010");
    }
}
