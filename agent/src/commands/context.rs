//! What the commands share: the [`Context`] read once per process, and how a user's error
//! is said.

use crate::config::Local;
use crate::host::HostFacts;
use crate::paths::Paths;

/// What every command starts from, read once per process: where things are, the drop-in
/// configuration, and this machine's facts (from `source.host_facts` when the drop-ins
/// name a file, else the running system).
pub struct Context {
    /// Every location, below `--root`.
    pub paths: Paths,
    /// The drop-in folders, read once.
    pub local: Local,
    /// This machine's facts.
    pub facts: Box<dyn HostFacts>,
}

impl Context {
    /// Reads the drop-ins below `paths` and the host facts they point to. Drop-ins that
    /// cannot be used leave the running system's facts; the command reports them.
    pub fn new(paths: Paths) -> anyhow::Result<Self> {
        let local = crate::config::load_local(&paths);
        let file = local
            .source()
            .ok()
            .and_then(|source| source.host_facts.clone());
        let facts = crate::host::facts(&paths, file.as_deref())?;
        Ok(Self {
            paths,
            local,
            facts,
        })
    }

    /// What status needs of what was read.
    pub fn seen(&self) -> crate::status::Seen<'_> {
        crate::status::Seen {
            facts: self.facts.as_ref(),
            drop_ins: &self.local.digest,
        }
    }

    /// The one full load (drop-ins, instance source, validation), or the reason printed.
    pub(super) async fn effective(&self) -> Option<crate::instance::Effective> {
        match crate::instance::load(&self.paths, &self.local).await {
            Ok(effective) => Some(effective),
            Err(e) => {
                say(format!("{:#}", e.error()));
                None
            }
        }
    }
}

/// Prints an error for the operator. Errors quote what came from outside (a domain from
/// user-data, a key comment, an answer), so they pass the one terminal filter.
pub fn say(text: String) {
    eprintln!("meet-agent: {}", crate::printable::terminal(&text));
}

/// 0 when `result` is fine, else 1 with its error said.
pub(super) fn said(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            say(format!("{e:#}"));
            1
        }
    }
}
