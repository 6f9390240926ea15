//! The parsed form of a scenario: a machine, then statements (operations and expectations).

use crate::config::MachineConfig;
use crate::op::{Errno, Op};
use crate::query::Query;
use serde::{Deserialize, Serialize};

/// A position in the scenario text: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// An error in a scenario, at a position, saying what was expected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.col, self.message)
    }
}

/// The outcome an `expect` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutcomeSpec {
    Ok,
    Err(Errno),
    Killed,
}

/// A process state an `expect` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateSpec {
    Running,
    Exited,
    Killed,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// The right-hand side of a value expectation: a size (bytes, possibly relative to the machine) or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectValue {
    Size(crate::op::Size),
    Number(i64),
}

/// What an `expect` line checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// `expect [PROC [VERB]] OUTCOME`: the outcome of the most recent operation (by that process,
    /// with that verb, when given).
    Outcome {
        proc: Option<String>,
        verb: Option<String>,
        outcome: OutcomeSpec,
    },
    /// `expect PROC running|exited|killed`.
    State { proc: String, state: StateSpec },
    /// `expect QUERY CMP VALUE [± TOLERANCE]`.
    Value {
        query: Query,
        cmp: Cmp,
        value: ExpectValue,
        tolerance: Option<ExpectValue>,
    },
}

/// One statement with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StmtKind {
    Op(Op),
    Expect(Expect),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stmt {
    pub pos: Pos,
    pub kind: StmtKind,
    /// The statement's source text without its comment, for traces and errors.
    pub text: String,
}

/// A parsed scenario: the machine it boots, then its statements in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub machine: MachineConfig,
    pub stmts: Vec<Stmt>,
}

impl Scenario {
    /// The operations in order (the scenario's steps), with their statement positions.
    pub fn ops(&self) -> impl Iterator<Item = (&Stmt, &Op)> {
        self.stmts.iter().filter_map(|s| match &s.kind {
            StmtKind::Op(op) => Some((s, op)),
            StmtKind::Expect(_) => None,
        })
    }
}
