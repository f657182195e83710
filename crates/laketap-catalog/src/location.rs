//! Table locations: a path relative to the catalog file, an absolute path, or
//! an `s3://bucket/prefix` URL served through object_store.

use std::path::Path;
use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnv;
use object_store::aws::AmazonS3Builder;
use url::Url;

/// Where a table's data lives, resolved against its catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A folder on local disk (absolute, canonical).
    Local(std::path::PathBuf),
    /// An object store URL (`s3://bucket/prefix/`).
    ObjectStore(Url),
}

impl Location {
    /// Resolves `location` as written in `catalog_file`. A relative path is
    /// taken from the catalog file's folder. Local paths must exist.
    pub fn resolve(catalog_file: &Path, location: &str) -> Result<Location, String> {
        if let Some((scheme, _)) = location.split_once("://") {
            return match scheme {
                "s3" | "s3a" => {
                    let mut url = Url::parse(location)
                        .map_err(|e| format!("`{location}` is not a valid URL: {e}"))?;
                    if url.host_str().is_none_or(str::is_empty) {
                        return Err(format!("`{location}` names no bucket"));
                    }
                    if url.scheme() == "s3a" {
                        let _ = url.set_scheme("s3");
                    }
                    if !url.path().ends_with('/') {
                        let path = format!("{}/", url.path());
                        url.set_path(&path);
                    }
                    Ok(Location::ObjectStore(url))
                }
                "file" => Self::resolve(catalog_file, &location["file://".len()..]),
                other => Err(format!(
                    "scheme `{other}://` is not supported; use a path or s3://bucket/prefix"
                )),
            };
        }
        let path = Path::new(location);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            catalog_file
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join(path)
        };
        std::fs::canonicalize(&joined)
            .map(Location::Local)
            .map_err(|_| joined.display().to_string())
    }

    /// The location as a URL with a trailing slash (a folder).
    pub fn url(&self) -> Result<Url, String> {
        match self {
            Location::Local(path) => Url::from_directory_path(path)
                .map_err(|()| format!("{} cannot be expressed as a URL", path.display())),
            Location::ObjectStore(url) => Ok(url.clone()),
        }
    }

    /// Makes sure the session can read this location: registers an S3 store
    /// for the bucket (configured from the standard AWS environment) unless one
    /// is registered already. Local files need nothing.
    pub fn register_store(&self, runtime: &RuntimeEnv) -> Result<(), String> {
        let Location::ObjectStore(url) = self else {
            return Ok(());
        };
        if runtime.object_store_registry.get_store(url).is_ok() {
            return Ok(());
        }
        let bucket = url.host_str().unwrap_or_default();
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| format!("cannot configure S3 for bucket `{bucket}`: {e}"))?;
        let root = Url::parse(&format!("s3://{bucket}"))
            .map_err(|e| format!("bucket `{bucket}` is not a valid host: {e}"))?;
        runtime.register_object_store(&root, Arc::new(store));
        Ok(())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::ObjectStore(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_start_at_the_catalog_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("lake/t")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("catalog")).expect("mkdir");
        let file = dir.path().join("catalog/amp.toml");
        let loc = Location::resolve(&file, "../lake/t").expect("exists");
        let expected = std::fs::canonicalize(dir.path().join("lake/t")).expect("canon");
        assert_eq!(loc, Location::Local(expected.clone()));
        assert!(loc.url().expect("url").as_str().ends_with("/lake/t/"));
        let abs = Location::resolve(&file, expected.to_str().expect("utf8")).expect("abs");
        assert_eq!(abs, Location::Local(expected));
    }

    #[test]
    fn a_missing_path_reports_where_it_looked() {
        let err = Location::resolve(Path::new("/nowhere/catalog/a.toml"), "../lake/x")
            .expect_err("missing");
        assert_eq!(err, "/nowhere/catalog/../lake/x");
    }

    #[test]
    fn s3_urls_get_a_trailing_slash() {
        let loc = Location::resolve(Path::new("c/a.toml"), "s3://bucket/amp/users").expect("s3");
        assert_eq!(loc.url().expect("url").as_str(), "s3://bucket/amp/users/");
        assert!(Location::resolve(Path::new("c/a.toml"), "gs://b/x").is_err());
        assert!(Location::resolve(Path::new("c/a.toml"), "s3:///x").is_err());
    }
}
