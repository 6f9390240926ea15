//! Scenarios: the text language teachers write (`docs/scenario-language.md`), parsed into
//! operations and expectations.

mod ast;
pub mod fields;
mod lex;
mod parse;
mod size;
mod suggest;

pub use ast::*;
pub use parse::parse;
