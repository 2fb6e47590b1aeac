//! The per-layer table and the printable summary, in the style of Keras' `model.summary()`.

use crate::info::LayerInfo;
use std::fmt;

/// A printable description of a network: [`fmt::Display`] renders the table.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub name: &'static str,
    pub input_shape: &'static [usize],
    /// The input's axis letters (see [`LayerInfo::output_axes`]).
    pub input_axes: &'static str,
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

/// `[6, 28, 28]`, or with its axis letters where given: `[T = 28, F = 128]`.
fn shape(dims: &[usize], axes: &str) -> String {
    let inner: Vec<String> = if axes.chars().count() == dims.len() {
        axes.chars().zip(dims).map(|(a, d)| format!("{a} = {d}")).collect()
    } else {
        dims.iter().map(|d| d.to_string()).collect()
    };
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

/// One printed row: label (indented by its depth in the tree), output shape, parameters.
type Row = [String; 3];

/// What a level of the tree lists: a layer, or a block (a key prefix several layers
/// share) with its layers' indices, in execution order.
enum Entry<'a> {
    Layer(usize),
    Block(&'a str, Vec<usize>),
}

/// A layer's label: its key relative to the block it is listed under (the last part of
/// its key if that is the block's own key), then the layer as written.
fn layer_label(layer: &LayerInfo, depth: usize) -> String {
    let parts: Vec<&str> = layer.key.split('.').collect();
    let key = if parts.len() > depth { parts[depth..].join(".") } else { parts[parts.len() - 1].to_string() };
    if key.parse::<usize>().is_ok() {
        format!("{key} ({})", layer.written)
    } else {
        format!("{key}: {}", layer.written)
    }
}

/// The entries for `members` (indices into `layers`, in execution order), all keyed
/// under one block `depth` dotted parts deep (the whole network at depth 0). The layers
/// whose next key part several deeper layers share form a block; every other layer is
/// listed itself. Entries come in execution order, a block where its first layer runs.
fn entries<'a>(layers: &'a [LayerInfo], members: &[usize], depth: usize) -> Vec<Entry<'a>> {
    let mut groups: Vec<(&'a str, Vec<usize>)> = Vec::new();
    let mut entries = Vec::new();
    for &i in members {
        match layers[i].key.split('.').nth(depth) {
            // The layer's key is the block's own: listed in it.
            None => entries.push((i, Entry::Layer(i))),
            Some(part) => match groups.iter_mut().find(|(p, _)| *p == part) {
                Some((_, group)) => group.push(i),
                None => groups.push((part, vec![i])),
            },
        }
    }
    for (part, group) in groups {
        let deeper = group.iter().filter(|&&i| layers[i].key.split('.').nth(depth + 1).is_some()).count();
        if deeper >= 2 {
            entries.push((group[0], Entry::Block(part, group)));
        } else {
            entries.extend(group.into_iter().map(|i| (i, Entry::Layer(i))));
        }
    }
    entries.sort_by_key(|(first, _)| *first);
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// Appends the rows of `entry`, listed `depth` levels deep: a layer's row, or a block's
/// row (its output is its last layer's, its parameters its layers' total) followed by
/// its entries, indented one level more.
fn push_rows(layers: &[LayerInfo], entry: Entry<'_>, depth: usize, rows: &mut Vec<Row>) {
    let indent = "  ".repeat(depth);
    match entry {
        Entry::Layer(i) => {
            let l = &layers[i];
            rows.push([
                format!("{indent}{}", layer_label(l, depth)),
                shape(l.output_shape, l.output_axes),
                thousands(l.params as u128),
            ]);
        }
        Entry::Block(part, members) => {
            let last = &layers[members[members.len() - 1]];
            let params: u128 = members.iter().map(|&i| layers[i].params as u128).sum();
            rows.push([format!("{indent}{part}"), shape(last.output_shape, last.output_axes), thousands(params)]);
            for entry in entries(layers, &members, depth + 1) {
                push_rows(layers, entry, depth + 1, rows);
            }
        }
    }
}

impl fmt::Display for Summary {
    /// The table, one row per layer, and for a network whose keys are dotted paths
    /// (`layer1.0.conv1`), one row per block (a key prefix several layers share: `layer1`,
    /// `layer1.0`) with its parameter total, its layers and blocks indented under it.
    /// Lines separate the top-level entries; a chain's keys have no dots, so each of its
    /// layers is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<usize> = (0..self.layers.len()).collect();
        // Each top-level entry's rows.
        let groups: Vec<Vec<Row>> = entries(self.layers, &all, 0)
            .into_iter()
            .map(|entry| {
                let mut rows = Vec::new();
                push_rows(self.layers, entry, 0, &mut rows);
                rows
            })
            .collect();
        let headers = ["Layer (type)", "Output Shape", "Param #"];
        let mut widths = headers.map(str::len);
        for row in groups.iter().flatten() {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let total = widths.iter().sum::<usize>() + 6;
        writeln!(f, "Model: \"{}\"   input {}", self.name, shape(self.input_shape, self.input_axes))?;
        let row = |f: &mut fmt::Formatter<'_>, cells: [&str; 3]| {
            let [w0, w1, w2] = widths;
            writeln!(f, " {:<w0$}  {:<w1$}  {:>w2$}", cells[0], cells[1], cells[2])
        };
        writeln!(f, "{}", "━".repeat(total))?;
        row(f, headers)?;
        writeln!(f, "{}", "━".repeat(total))?;
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                writeln!(f, "{}", "─".repeat(total))?;
            }
            for cells in group {
                row(f, [&cells[0], &cells[1], &cells[2]])?;
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

    /// A layer row with what the summary reads.
    const fn layer(
        key: &'static str, kind: &'static str, written: &'static str, output_shape: &'static [usize], params: usize,
    ) -> LayerInfo {
        LayerInfo { key, kind, written, output_shape, output_axes: "", params, flops: 0, tensors: &[], buffers: &[] }
    }

    fn summary(layers: &'static [LayerInfo]) -> String {
        Summary {
            name: "Net",
            input_shape: &[3, 8, 8],
            input_axes: "",
            layers,
            params: layers.iter().map(|l| l.params).sum(),
            flops: 1234,
            activation_elements: 5678,
            element_bytes: 4,
        }
        .to_string()
    }

    /// A chain's keys have no dots: one row per layer, a line between rows, exactly as
    /// the summary printed chains before it showed trees.
    #[test]
    fn a_chain_prints_one_row_per_layer() {
        static CHAIN: &[LayerInfo] = &[
            layer("0", "conv", "conv(1, 4, 3)", &[4, 6, 6], 40),
            layer("1", "relu", "relu", &[4, 6, 6], 0),
            layer("conv2", "conv", "conv(4, 8, 3, padding = 1)", &[8, 6, 6], 296),
            layer("3", "flatten", "flatten", &[288], 0),
            layer("fc", "linear", "linear(288, 10)", &[10], 2890),
        ];
        let expected = "\
Model: \"Net\"   input [3, 8, 8]
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Layer (type)                       Output Shape  Param #
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 0 (conv(1, 4, 3))                  [4, 6, 6]          40
──────────────────────────────────────────────────────────
 1 (relu)                           [4, 6, 6]           0
──────────────────────────────────────────────────────────
 conv2: conv(4, 8, 3, padding = 1)  [8, 6, 6]         296
──────────────────────────────────────────────────────────
 3 (flatten)                        [288]               0
──────────────────────────────────────────────────────────
 fc: linear(288, 10)                [10]            2,890
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Total params: 3,226 (12.6 KiB)
 Trainable params: 3,226 (12.6 KiB)
 Non-trainable params: 0 (0 B)
 Forward FLOPs per sample: 1,234
 Activations per sample: 5,678 values (22.2 KiB)";
        assert_eq!(summary(CHAIN), expected);
    }

    /// A small ResNet with PyTorch's module paths as keys: a row per block (`layer1`,
    /// `layer1.0`, `layer2.0.downsample`) with its parameter total and its last layer's
    /// output, its layers indented under it by their keys within it.
    #[test]
    fn dotted_keys_print_as_a_tree_with_block_totals() {
        static RESNET: &[LayerInfo] = &[
            layer("conv1", "conv", "conv(3, 8, 3, padding = 1, bias = false)", &[8, 8, 8], 216),
            layer("bn1", "batchnorm", "batchnorm(8)", &[8, 8, 8], 16),
            layer("2", "relu", "relu", &[8, 8, 8], 0),
            layer("layer1.0.conv1", "conv", "conv(8, 8, 3, padding = 1, bias = false)", &[8, 8, 8], 576),
            layer("layer1.0.bn1", "batchnorm", "batchnorm(8)", &[8, 8, 8], 16),
            layer("layer1.0.relu", "relu", "relu", &[8, 8, 8], 0),
            layer("layer1.0.add", "add", "residual", &[8, 8, 8], 0),
            layer("layer1.1.conv1", "conv", "conv(8, 8, 3, padding = 1, bias = false)", &[8, 8, 8], 576),
            layer("layer1.1.bn1", "batchnorm", "batchnorm(8)", &[8, 8, 8], 16),
            layer("layer1.1.relu", "relu", "relu", &[8, 8, 8], 0),
            layer("layer1.1.add", "add", "residual", &[8, 8, 8], 0),
            layer("layer2.0.conv1", "conv", "conv(8, 16, 3, stride = 2, padding = 1, bias = false)", &[16, 4, 4], 1152),
            layer("layer2.0.bn1", "batchnorm", "batchnorm(16)", &[16, 4, 4], 32),
            layer("layer2.0.downsample.0", "conv", "conv(8, 16, 1, stride = 2, bias = false)", &[16, 4, 4], 128),
            layer("layer2.0.downsample.1", "batchnorm", "batchnorm(16)", &[16, 4, 4], 32),
            layer("layer2.0.add", "add", "residual", &[16, 4, 4], 0),
            layer("avgpool", "global_avgpool", "global_avgpool", &[16, 1, 1], 0),
            layer("5", "flatten", "flatten", &[16], 0),
            layer("fc", "linear", "linear(16, 10)", &[10], 170),
        ];
        let expected = "\
Model: \"Net\"   input [3, 8, 8]
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Layer (type)                                                      Output Shape  Param #
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 conv1: conv(3, 8, 3, padding = 1, bias = false)                   [8, 8, 8]         216
─────────────────────────────────────────────────────────────────────────────────────────
 bn1: batchnorm(8)                                                 [8, 8, 8]          16
─────────────────────────────────────────────────────────────────────────────────────────
 2 (relu)                                                          [8, 8, 8]           0
─────────────────────────────────────────────────────────────────────────────────────────
 layer1                                                            [8, 8, 8]       1,184
   0                                                               [8, 8, 8]         592
     conv1: conv(8, 8, 3, padding = 1, bias = false)               [8, 8, 8]         576
     bn1: batchnorm(8)                                             [8, 8, 8]          16
     relu: relu                                                    [8, 8, 8]           0
     add: residual                                                 [8, 8, 8]           0
   1                                                               [8, 8, 8]         592
     conv1: conv(8, 8, 3, padding = 1, bias = false)               [8, 8, 8]         576
     bn1: batchnorm(8)                                             [8, 8, 8]          16
     relu: relu                                                    [8, 8, 8]           0
     add: residual                                                 [8, 8, 8]           0
─────────────────────────────────────────────────────────────────────────────────────────
 layer2                                                            [16, 4, 4]      1,344
   0                                                               [16, 4, 4]      1,344
     conv1: conv(8, 16, 3, stride = 2, padding = 1, bias = false)  [16, 4, 4]      1,152
     bn1: batchnorm(16)                                            [16, 4, 4]         32
     downsample                                                    [16, 4, 4]        160
       0 (conv(8, 16, 1, stride = 2, bias = false))                [16, 4, 4]        128
       1 (batchnorm(16))                                           [16, 4, 4]         32
     add: residual                                                 [16, 4, 4]          0
─────────────────────────────────────────────────────────────────────────────────────────
 avgpool: global_avgpool                                           [16, 1, 1]          0
─────────────────────────────────────────────────────────────────────────────────────────
 5 (flatten)                                                       [16]                0
─────────────────────────────────────────────────────────────────────────────────────────
 fc: linear(16, 10)                                                [10]              170
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Total params: 2,930 (11.4 KiB)
 Trainable params: 2,930 (11.4 KiB)
 Non-trainable params: 0 (0 B)
 Forward FLOPs per sample: 1,234
 Activations per sample: 5,678 values (22.2 KiB)";
        assert_eq!(summary(RESNET), expected);
    }

    /// Keys a graph may give that are not a neat tree: a prefix only one layer has is no
    /// block (`head.0` is listed whole); two blocks whose layers interleave are each listed
    /// whole where their first layer runs; a layer keyed as a block itself is listed in
    /// it; nothing is lost or repeated.
    #[test]
    fn irregular_keys_lose_no_layer() {
        static ODD: &[LayerInfo] = &[
            layer("a.x", "conv", "conv(3, 3, 1)", &[3, 8, 8], 12),
            layer("b.x", "conv", "conv(3, 3, 1)", &[3, 8, 8], 12),
            layer("a.y", "relu", "relu", &[3, 8, 8], 0),
            layer("b.y", "relu", "relu", &[3, 8, 8], 0),
            layer("a", "add", "add", &[3, 8, 8], 0),
            layer("head.0", "flatten", "flatten", &[192], 0),
            layer("out", "linear", "linear(192, 2)", &[2], 386),
        ];
        let expected = "\
Model: \"Net\"   input [3, 8, 8]
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Layer (type)         Output Shape  Param #
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 a                    [3, 8, 8]          12
   x: conv(3, 3, 1)   [3, 8, 8]          12
   y: relu            [3, 8, 8]           0
   a: add             [3, 8, 8]           0
────────────────────────────────────────────
 b                    [3, 8, 8]          12
   x: conv(3, 3, 1)   [3, 8, 8]          12
   y: relu            [3, 8, 8]           0
────────────────────────────────────────────
 head.0: flatten      [192]               0
────────────────────────────────────────────
 out: linear(192, 2)  [2]               386
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 Total params: 410 (1.6 KiB)
 Trainable params: 410 (1.6 KiB)
 Non-trainable params: 0 (0 B)
 Forward FLOPs per sample: 1,234
 Activations per sample: 5,678 values (22.2 KiB)";
        assert_eq!(summary(ODD), expected);
    }
}
