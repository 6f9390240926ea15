//! Tests of the scenario parser.
