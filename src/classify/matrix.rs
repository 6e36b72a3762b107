//! Impact × urgency → priority (the incident SOP's step 5.4): the three levels, and a category's
//! matrix from the two to one of its priorities. A rules file may write a category's matrix
//! (`matrix = [[1, 2, 3], [2, 3, 4], [3, 4, 4]]`: rows impact high, medium, low; columns urgency
//! high, medium, low); otherwise the ITIL default applies, laid over the category's own priorities.
//! Pure.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Priority;

/// An impact or an urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Many people, or work that cannot go on.
    High,
    /// A group, or work slowed down.
    Medium,
    /// One person, or an inconvenience.
    Low,
}

impl Level {
    /// The three levels, from high to low.
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high" | "h" | "1" => Ok(Level::High),
            "medium" | "m" | "2" => Ok(Level::Medium),
            "low" | "l" | "3" => Ok(Level::Low),
            "" => Err("needs high, medium or low".into()),
            other => Err(format!("`{other}` is not a level: high, medium or low")),
        }
    }
}

/// The ITIL priorities (1 most urgent … 5 least) of each impact (rows) and urgency (columns).
const ITIL: [[usize; 3]; 3] = [[1, 2, 3], [2, 3, 4], [3, 4, 5]];

/// A category's priority for each impact and urgency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// `cells[impact][urgency]`: a priority level of the category.
    cells: [[u8; 3]; 3],
}

impl Matrix {
    /// The matrix a rules file wrote for a category: three rows (impact high, medium, low) of
    /// three priority levels (urgency high, medium, low), each one of `priorities`.
    ///
    /// # Errors
    /// The wrong shape, or a level the category lacks, said for the key `matrix`.
    pub fn written(rows: &[Vec<u8>], priorities: &[Priority]) -> Result<Matrix, String> {
        let shape = "matrix = [[…], […], […]]: three rows (impact high, medium, low) of three \
                     priorities (urgency high, medium, low)";
        if rows.len() != 3 || rows.iter().any(|r| r.len() != 3) {
            return Err(format!("expected {shape}"));
        }
        let mut cells = [[0u8; 3]; 3];
        for (i, row) in rows.iter().enumerate() {
            for (u, &level) in row.iter().enumerate() {
                if !priorities.iter().any(|p| p.level == level) {
                    let valid: Vec<String> =
                        priorities.iter().map(|p| p.level.to_string()).collect();
                    return Err(format!(
                        "matrix: impact {} × urgency {}: {level} is not one of the category's \
                         priorities ({})",
                        Level::ALL[i],
                        Level::ALL[u],
                        valid.join(", ")
                    ));
                }
                cells[i][u] = level;
            }
        }
        Ok(Matrix { cells })
    }

    /// The ITIL matrix over a category's priorities: its priorities with a resolution target,
    /// shortest target first, stand for ITIL's 1, 2, 3 …; ITIL priorities beyond them take the
    /// last. A category without targets has `default` everywhere: impact and urgency are
    /// recorded, the priority stays.
    pub fn itil(priorities: &[Priority], default: u8) -> Matrix {
        let mut ladder: Vec<&Priority> = priorities.iter().filter(|p| p.target.is_some()).collect();
        ladder.sort_by_key(|p| (p.target, p.level));
        let mut cells = [[default; 3]; 3];
        if let Some(last) = ladder.len().checked_sub(1) {
            for (i, row) in ITIL.iter().enumerate() {
                for (u, &rank) in row.iter().enumerate() {
                    cells[i][u] = ladder[(rank - 1).min(last)].level;
                }
            }
        }
        Matrix { cells }
    }

    /// The priority of `impact` × `urgency`; an unknown one counts as medium.
    pub fn priority(&self, impact: Option<Level>, urgency: Option<Level>) -> u8 {
        let i = impact.unwrap_or(Level::Medium).index();
        let u = urgency.unwrap_or(Level::Medium).index();
        self.cells[i][u]
    }

    /// The rows as written in a rules file, for `rules show`-style output.
    pub fn rows(&self) -> [[u8; 3]; 3] {
        self.cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::ClockKind;
    use std::time::Duration;

    fn p(level: u8, hours: Option<u64>) -> Priority {
        Priority {
            level,
            name: format!("P{level}"),
            target: hours.map(|h| Duration::from_secs(h * 3600)),
            clock: ClockKind::Always,
        }
    }

    /// The break/fix chart: 1 Emergency 4h, 2 High 1d, 3 Instructional 3d, 4 Administrative 4d,
    /// then priorities without a target.
    fn break_fix() -> Vec<Priority> {
        vec![
            p(1, Some(4)),
            p(2, Some(24)),
            p(3, Some(72)),
            p(4, Some(96)),
            p(5, None),
            p(6, None),
        ]
    }

    #[test]
    fn the_itil_default_follows_the_targets_of_the_chart() {
        let m = Matrix::itil(&break_fix(), 4);
        assert_eq!(m.rows(), [[1, 2, 3], [2, 3, 4], [3, 4, 4]]);
        use Level::*;
        assert_eq!(m.priority(Some(High), Some(High)), 1);
        assert_eq!(m.priority(Some(Low), Some(High)), 3);
        assert_eq!(m.priority(None, None), 3, "unknown counts as medium");
        assert_eq!(m.priority(Some(High), None), 2);
        // Two priorities with targets, listed longest first: the shorter one is the top.
        let two = [p(4, Some(96)), p(3, Some(72)), p(8, None)];
        assert_eq!(
            Matrix::itil(&two, 4).rows(),
            [[3, 4, 4], [4, 4, 4], [4, 4, 4]]
        );
        // No targets at all: the default everywhere.
        let none = [p(3, None), p(4, None)];
        assert_eq!(Matrix::itil(&none, 4).rows(), [[4; 3]; 3]);
    }

    #[test]
    fn a_written_matrix_must_have_three_rows_of_the_categorys_priorities() {
        let ok = Matrix::written(&[vec![1, 1, 2], vec![2, 3, 4], vec![3, 4, 4]], &break_fix());
        assert_eq!(
            ok.unwrap().priority(Some(Level::High), Some(Level::Medium)),
            1
        );
        let short = Matrix::written(&[vec![1, 2, 3], vec![2, 3, 4]], &break_fix());
        assert!(short.unwrap_err().contains("three rows"));
        let bad = Matrix::written(&[vec![1, 2, 3], vec![2, 9, 4], vec![3, 4, 4]], &break_fix());
        let e = bad.unwrap_err();
        assert!(e.contains("impact medium × urgency medium: 9"), "{e}");
    }

    #[test]
    fn levels_read_as_typed_and_refuse_the_rest() {
        assert_eq!("High".parse::<Level>(), Ok(Level::High));
        assert_eq!(" low ".parse::<Level>(), Ok(Level::Low));
        assert_eq!("2".parse::<Level>(), Ok(Level::Medium));
        assert!("severe".parse::<Level>().unwrap_err().contains("`severe`"));
        assert!("".parse::<Level>().is_err());
    }
}
