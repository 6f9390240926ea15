//! Standard output for the commands: buffered, flushed after every step on a terminal, and with
//! the two ways a write can fail told apart — a closed pipe (`| head -1`, the reader has had
//! enough: stop quietly) and anything else (`> /dev/full`: an error with a non-zero exit).

use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};

/// Why output stopped.
#[derive(Debug)]
pub enum OutError {
    /// The reader closed the pipe.
    Closed,
    /// Any other write error (a full disk, a revoked terminal, …).
    Io(io::Error),
}

impl From<io::Error> for OutError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            OutError::Closed
        } else {
            OutError::Io(e)
        }
    }
}

pub struct Out {
    w: BufWriter<StdoutLock<'static>>,
    /// Stdout is a terminal: a person is watching, so each step is shown as it happens rather
    /// than in 64 KiB batches.
    tty: bool,
}

impl Out {
    pub fn stdout() -> Out {
        let stdout = io::stdout();
        let tty = stdout.is_terminal();
        Out {
            w: BufWriter::with_capacity(64 * 1024, stdout.lock()),
            tty,
        }
    }

    /// Whether stdout is a terminal (then help is coloured and each step is flushed).
    pub fn is_terminal(&self) -> bool {
        self.tty
    }

    pub fn write(&mut self, s: &str) -> Result<(), OutError> {
        self.write_bytes(s.as_bytes())
    }

    pub fn write_bytes(&mut self, b: &[u8]) -> Result<(), OutError> {
        self.w.write_all(b).map_err(OutError::from)
    }

    /// One step's lines are written: on a terminal, show them now.
    pub fn step_done(&mut self) -> Result<(), OutError> {
        if self.tty {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), OutError> {
        self.w.flush().map_err(OutError::from)
    }

    /// Flush what is left; a write error that only shows here is still an error.
    pub fn finish(&mut self) -> Result<(), OutError> {
        self.flush()
    }

    /// The underlying writer, for the JSON document (its errors go through `OutError::from`).
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.w
    }
}
