//! Scenarios: the text language teachers write (`docs/scenario-language.md`), parsed into
//! operations and expectations.

mod ast;
mod parse;

pub use ast::*;
pub use parse::parse;
