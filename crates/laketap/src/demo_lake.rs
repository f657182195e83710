//! Where the demo lake lives when `serve` or `query` get no catalog, and
//! creating it when it is missing.

use std::path::{Path, PathBuf};

/// The demo catalog, built into the binary.
const DEMO_CATALOG: &str = include_str!("../../../catalog/amp.toml");

/// The catalog folder to use when none is given: `./catalog` if it exists
/// (a checkout of laketap), else a demo home (`$LAKETAP_HOME`, or
/// `~/.local/share/laketap`) holding the built-in demo catalog.
pub fn default_catalog() -> Result<PathBuf, String> {
    let local = PathBuf::from("catalog");
    if local.join("amp.toml").is_file() {
        return Ok(local);
    }
    let home = match std::env::var_os("LAKETAP_HOME") {
        Some(home) => PathBuf::from(home),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local/share/laketap"))
            .ok_or("neither LAKETAP_HOME nor HOME is set: pass --catalog DIR")?,
    };
    let catalog = home.join("catalog");
    std::fs::create_dir_all(&catalog)
        .map_err(|e| format!("cannot create {}: {e}", catalog.display()))?;
    let file = catalog.join("amp.toml");
    if !file.exists() {
        std::fs::write(&file, DEMO_CATALOG)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(catalog)
}

/// The lake folder the demo catalog points at.
pub fn lake_for(catalog: &Path) -> PathBuf {
    catalog.join("../lake")
}

/// Generates the demo lake next to `catalog` unless it is there.
pub async fn ensure(catalog: &Path) -> Result<(), String> {
    let lake = lake_for(catalog);
    if lake.join("amp").is_dir() {
        return Ok(());
    }
    tracing::info!(lake = %lake.display(), "demo lake missing: generating it (laketap demo)");
    // Generate aside and move into place, so an interrupted run is redone.
    let partial = lake.join(format!(".partial-{}", std::process::id()));
    let options = laketap_demo::DemoOptions::new(partial.clone());
    let progress = laketap_demo::IndicatifProgress::new();
    laketap_demo::generate(&options, &progress)
        .await
        .map_err(|e| format!("generating the demo lake: {e}"))?;
    std::fs::rename(partial.join("amp"), lake.join("amp"))
        .map_err(|e| format!("moving the demo lake into {}: {e}", lake.display()))?;
    let _ = std::fs::remove_dir_all(&partial);
    Ok(())
}
