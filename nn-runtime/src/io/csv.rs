//! Tables of numbers as data sets: one sample per line, feature columns and target
//! columns, as `pandas.read_csv` followed by picking columns. Fields are separated by
//! a delimiter (`,` unless set) and may be quoted (`"…"`, without delimiters inside:
//! numeric tables need no more). Class labels are integers `0..classes`, or names,
//! numbered in sorted order (as scikit-learn's `LabelEncoder`).
//!
//! Every bad line is reported, not only the first: its line number, its column and
//! what is wrong (a ragged row, a field that is no number, a label out of range).

use crate::error::Error;
use crate::float::Float;
use crate::io::data::Samples;
use std::path::Path;

/// Which columns hold the targets; the others are the features, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// The last column.
    Last,
    /// The first column.
    First,
    /// These columns, counted from 0.
    Indices(Vec<usize>),
    /// The columns with these header names (needs a header).
    Names(Vec<String>),
}

/// How a table is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csv {
    pub delimiter: char,
    /// Whether the first line names the columns.
    pub header: bool,
    pub targets: Columns,
    /// For class labels: how many classes; a larger integer label is an error. `None`:
    /// as many as the labels found.
    pub classes: Option<usize>,
}

impl Default for Csv {
    /// Comma-separated, a header, the label last.
    fn default() -> Self {
        Csv { delimiter: ',', header: true, targets: Columns::Last, classes: None }
    }
}

/// A table's samples with class labels, and the classes' names (index = label).
pub type Classified<F> = (Samples<F, usize>, Vec<String>);

/// Reads a table whose one target column holds class labels.
pub fn read_classes<F: Float>(path: impl AsRef<Path>, csv: &Csv) -> Result<Classified<F>, Error> {
    let path = path.as_ref();
    parse_classes(&read(path)?, &path.display().to_string(), csv)
}

/// Reads a table whose target columns hold numbers (regression targets).
pub fn read_values<F: Float>(path: impl AsRef<Path>, csv: &Csv) -> Result<Samples<F, F>, Error> {
    let path = path.as_ref();
    parse_values(&read(path)?, &path.display().to_string(), csv)
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Data { source: path.display().to_string(), message: format!("cannot read: {e}") })
}

/// [`read_classes`] on a table already in memory; `source` names it in errors.
pub fn parse_classes<F: Float>(text: &str, source: &str, csv: &Csv) -> Result<Classified<F>, Error> {
    let table = Table::parse(text, source, csv)?;
    if table.targets.len() != 1 {
        return Err(
            table.error(vec![format!("class labels need one target column, {} are chosen", table.targets.len())])
        );
    }
    let mut problems = table.problems.clone();
    let (inputs, raw) = table.features_and_targets::<F>(&mut problems);
    // Integer labels when every one is an integer; else names, in sorted order.
    let integers: Option<Vec<usize>> = raw.iter().map(|(_, label)| label.parse().ok()).collect();
    let (labels, names) = match integers {
        Some(labels) => {
            let classes = csv.classes.unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
            for ((line, _), &label) in raw.iter().zip(&labels) {
                if label >= classes {
                    problems.push(format!("line {line}: label {label} is out of range for {classes} classes"));
                }
            }
            (labels, (0..classes).map(|c| c.to_string()).collect())
        }
        None => {
            let mut names: Vec<String> = raw.iter().map(|(_, label)| label.to_string()).collect();
            names.sort();
            names.dedup();
            if let Some(classes) = csv.classes.filter(|&c| c != names.len()) {
                problems.push(format!("{} class names found ({}), {classes} expected", names.len(), names.join(", ")));
            }
            let labels = raw.iter().map(|(_, label)| names.binary_search(&label.to_string()).unwrap_or(0)).collect();
            (labels, names)
        }
    };
    if !problems.is_empty() {
        return Err(table.error(problems));
    }
    let input_shape = vec![table.features.len()];
    Ok((Samples { inputs, targets: labels, input_shape, target_len: 1 }, names))
}

/// [`read_values`] on a table already in memory; `source` names it in errors.
pub fn parse_values<F: Float>(text: &str, source: &str, csv: &Csv) -> Result<Samples<F, F>, Error> {
    let table = Table::parse(text, source, csv)?;
    let mut problems = table.problems.clone();
    let (inputs, raw) = table.features_and_targets::<F>(&mut problems);
    let mut targets = Vec::with_capacity(raw.len());
    for (line, field) in &raw {
        match field.parse::<f64>() {
            Ok(v) => targets.push(F::from_f64(v)),
            Err(_) => problems.push(format!("line {line}: target {field:?} is not a number")),
        }
    }
    if !problems.is_empty() {
        return Err(table.error(problems));
    }
    let input_shape = vec![table.features.len()];
    Ok(Samples { inputs, targets, input_shape, target_len: table.targets.len() })
}

/// A table split into fields, with the feature and target columns chosen.
struct Table<'a> {
    source: String,
    names: Vec<String>,
    /// (line number, fields) of each data line.
    rows: Vec<(usize, Vec<&'a str>)>,
    features: Vec<usize>,
    targets: Vec<usize>,
    problems: Vec<String>,
}

impl<'a> Table<'a> {
    fn parse(text: &'a str, source: &str, csv: &Csv) -> Result<Self, Error> {
        let fail = |message: String| Error::Data { source: source.to_string(), message };
        let split = |line: &'a str| -> Vec<&'a str> {
            line.split(csv.delimiter)
                .map(|f| f.trim())
                .map(|f| f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f))
                .collect()
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let names: Vec<String> = if csv.header {
            let (_, header) = lines.next().ok_or_else(|| fail("it is empty: no header".into()))?;
            split(header).into_iter().map(str::to_string).collect()
        } else {
            Vec::new()
        };
        let rows: Vec<(usize, Vec<&str>)> = lines.map(|(n, l)| (n, split(l))).collect();
        let width = if csv.header { names.len() } else { rows.first().map_or(0, |(_, r)| r.len()) };
        if rows.is_empty() {
            return Err(fail("it has no data lines".into()));
        }
        let targets = match &csv.targets {
            Columns::Last => vec![width.saturating_sub(1)],
            Columns::First => vec![0],
            Columns::Indices(indices) => indices.clone(),
            Columns::Names(wanted) => {
                let mut found = Vec::new();
                for name in wanted {
                    match names.iter().position(|n| n == name) {
                        Some(i) => found.push(i),
                        None if names.is_empty() => {
                            return Err(fail(format!("column {name:?} is chosen by name, but the table has no header")))
                        }
                        None => {
                            return Err(fail(format!(
                                "no column is named {name:?}; the header has {}",
                                names.join(", ")
                            )))
                        }
                    }
                }
                found
            }
        };
        if let Some(&bad) = targets.iter().find(|&&t| t >= width) {
            return Err(fail(format!("target column {bad} is past the table's {width} columns")));
        }
        let features: Vec<usize> = (0..width).filter(|c| !targets.contains(c)).collect();
        if features.is_empty() {
            return Err(fail("every column is a target: no features are left".into()));
        }
        let what = if csv.header { "the header has" } else { "the first line has" };
        let problems = rows
            .iter()
            .filter(|(_, fields)| fields.len() != width)
            .map(|(line, fields)| format!("line {line}: {} fields, {what} {width}", fields.len()))
            .collect();
        Ok(Table { source: source.to_string(), names, rows, features, targets, problems })
    }

    fn column(&self, c: usize) -> String {
        match self.names.get(c) {
            Some(name) => format!("column {c} ({name:?})"),
            None => format!("column {c}"),
        }
    }

    /// The features of every whole row as numbers (bad fields reported into
    /// `problems`), and each row's first target field with its line number.
    fn features_and_targets<F: Float>(&self, problems: &mut Vec<String>) -> (Vec<F>, Vec<(usize, String)>) {
        let width = self.features.len() + self.targets.len();
        let mut inputs = Vec::with_capacity(self.rows.len() * self.features.len());
        let mut targets = Vec::new();
        for (line, fields) in self.rows.iter().filter(|(_, f)| f.len() == width) {
            for &c in &self.features {
                match fields[c].parse::<f64>() {
                    Ok(v) => inputs.push(F::from_f64(v)),
                    Err(_) => {
                        problems.push(format!("line {line}, {}: {:?} is not a number", self.column(c), fields[c]))
                    }
                }
            }
            for &c in &self.targets {
                targets.push((*line, fields[c].to_string()));
            }
        }
        (inputs, targets)
    }

    /// Every problem found, the first 20 spelled out.
    fn error(&self, problems: Vec<String>) -> Error {
        let shown = problems.len().min(20);
        let mut message = format!("{} bad line(s): {}", problems.len(), problems[..shown].join("; "));
        if problems.len() > shown {
            message.push_str(&format!("; and {} more", problems.len() - shown));
        }
        Error::Data { source: self.source.clone(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_labels_and_names() {
        let text = "a,b,label\n1,2,0\n\n3.5,-4e-1,2\r\n";
        let (samples, names) = parse_classes::<f64>(text, "t.csv", &Csv::default()).unwrap();
        assert_eq!(samples.inputs, [1.0, 2.0, 3.5, -0.4]);
        assert_eq!(samples.targets, [0, 2]);
        assert_eq!(names, ["0", "1", "2"]);
        let text = "species;x\n\"setosa\";1\nvirginica;2\nsetosa;3\n";
        let csv = Csv { delimiter: ';', targets: Columns::Names(vec!["species".into()]), ..Csv::default() };
        let (samples, names) = parse_classes::<f32>(text, "iris.csv", &csv).unwrap();
        assert_eq!(
            (samples.inputs, samples.targets, names),
            (vec![1.0, 2.0, 3.0], vec![0, 1, 0], vec!["setosa".to_string(), "virginica".to_string()])
        );
        let csv = Csv { header: false, targets: Columns::Indices(vec![0, 2]), ..Csv::default() };
        let samples = parse_values::<f64>("1,2,3\n4,5,6\n", "v.csv", &csv).unwrap();
        assert_eq!(
            (samples.inputs, samples.targets, samples.target_len),
            (vec![2.0, 5.0], vec![1.0, 3.0, 4.0, 6.0], 2)
        );
    }

    #[test]
    fn every_bad_line_is_named() {
        let text = "a,b,label\n1,2,0\n1,2\nx,2,1\n1,2,3\n1,2,1,9\n";
        let csv = Csv { classes: Some(3), ..Csv::default() };
        let error = parse_classes::<f64>(text, "bad.csv", &csv).unwrap_err().to_string();
        for needle in [
            "bad.csv",
            "4 bad line(s)",
            "line 3: 2 fields, the header has 3",
            "line 4, column 0 (\"a\"): \"x\" is not a number",
            "line 5: label 3 is out of range for 3 classes",
            "line 6: 4 fields",
        ] {
            assert!(error.contains(needle), "{needle:?} in {error}");
        }
        let error = parse_classes::<f64>("", "empty.csv", &Csv::default()).unwrap_err().to_string();
        assert!(error.contains("empty"), "{error}");
        let csv = Csv { targets: Columns::Names(vec!["y".into()]), ..Csv::default() };
        assert!(parse_values::<f64>("a,b\n1,2\n", "t.csv", &csv)
            .unwrap_err()
            .to_string()
            .contains("no column is named \"y\""));
        let csv = Csv { targets: Columns::Indices(vec![5]), ..Csv::default() };
        assert!(parse_values::<f64>("a,b\n1,2\n", "t.csv", &csv).is_err());
        assert!(parse_values::<f64>("a\n1\n", "t.csv", &Csv::default())
            .unwrap_err()
            .to_string()
            .contains("no features"));
    }
}
