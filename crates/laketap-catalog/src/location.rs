//! Table locations: a path relative to the catalog file, an absolute path, or
//! an `s3://bucket/prefix` URL served through object_store.

use std::path::Path;
use std::sync::Arc;

use datafusion::execution::runtime_env::RuntimeEnv;
use object_store::aws::AmazonS3Builder;
use serde::Deserialize;
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

    /// How error messages name objects under this location: a local folder
    /// as its path without the leading `/` (object_store paths), an S3
    /// prefix as `bucket/prefix/` (path-style URLs) and as `prefix/`.
    pub fn object_prefixes(&self) -> Vec<String> {
        match self {
            Location::Local(path) => {
                let text = path.display().to_string();
                vec![format!(
                    "{}/",
                    text.trim_start_matches('/').trim_end_matches('/')
                )]
            }
            Location::ObjectStore(url) => {
                let bucket = url.host_str().unwrap_or_default();
                let prefix = url.path().trim_start_matches('/').trim_end_matches('/');
                if prefix.is_empty() {
                    vec![format!("{bucket}/")]
                } else {
                    vec![format!("{bucket}/{prefix}/"), format!("{prefix}/")]
                }
            }
        }
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
    /// for the bucket unless one is registered already, configured by the
    /// `[[storage]]` entry for the bucket in `storages` if there is one, else
    /// from the standard AWS environment. Local files need nothing.
    pub fn register_store(
        &self,
        runtime: &RuntimeEnv,
        storages: &[StorageConfig],
    ) -> Result<(), String> {
        let Location::ObjectStore(url) = self else {
            return Ok(());
        };
        if runtime.object_store_registry.get_store(url).is_ok() {
            return Ok(());
        }
        let bucket = url.host_str().unwrap_or_default();
        let config = storages.iter().find(|s| s.bucket().ok() == Some(bucket));
        let store = match config {
            Some(config) => config.build()?,
            None => AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| format!("cannot configure S3 for bucket `{bucket}`: {e}"))?,
        };
        let root = Url::parse(&format!("s3://{bucket}"))
            .map_err(|e| format!("bucket `{bucket}` is not a valid host: {e}"))?;
        runtime.register_object_store(&root, Arc::new(store));
        Ok(())
    }
}

/// One `[[storage]]` entry of `laketap.toml`: how to reach an S3 bucket.
/// Anything not set comes from the standard AWS environment (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …). Credentials are named by the
/// environment variables that hold them, never written in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The bucket, as `s3://bucket`.
    pub url: String,
    /// The S3 endpoint, e.g. `http://127.0.0.1:9000` (default: AWS).
    pub endpoint: Option<String>,
    /// The region (default: `AWS_REGION`, else us-east-1).
    pub region: Option<String>,
    /// Address buckets as `bucket.host` instead of `host/bucket` (default false: path style).
    pub virtual_hosted_style: Option<bool>,
    /// Allow `http://` endpoints (default false).
    pub allow_http: Option<bool>,
    /// The environment variable holding the access key id.
    pub access_key_id_env: Option<String>,
    /// The environment variable holding the secret access key.
    pub secret_access_key_env: Option<String>,
    /// The environment variable holding a session token.
    pub session_token_env: Option<String>,
    /// Send unsigned requests (public buckets).
    pub skip_signature: Option<bool>,
}

impl StorageConfig {
    /// The bucket name of `url`.
    pub fn bucket(&self) -> Result<&str, String> {
        let rest = self
            .url
            .strip_prefix("s3://")
            .or_else(|| self.url.strip_prefix("s3a://"))
            .ok_or_else(|| format!("storage `{}`: write the url as s3://bucket", self.url))?;
        let bucket = rest.trim_end_matches('/');
        if bucket.is_empty() || bucket.contains('/') {
            return Err(format!(
                "storage `{}`: the url names a bucket only, as s3://bucket",
                self.url
            ));
        }
        Ok(bucket)
    }

    /// Builds the object store this entry describes. A named environment
    /// variable that is not set is an error that names it.
    pub fn build(&self) -> Result<object_store::aws::AmazonS3, String> {
        let bucket = self.bucket()?;
        let env = |name: &Option<String>, what: &str| -> Result<Option<String>, String> {
            match name {
                None => Ok(None),
                Some(var) => std::env::var(var).map(Some).map_err(|_| {
                    format!(
                        "storage `{}`: {what} is to come from ${var}, which is not set",
                        self.url
                    )
                }),
            }
        };
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(v) = self.virtual_hosted_style {
            builder = builder.with_virtual_hosted_style_request(v);
        }
        if let Some(v) = self.allow_http {
            builder = builder.with_allow_http(v);
        }
        if let Some(v) = self.skip_signature {
            builder = builder.with_skip_signature(v);
        }
        if let Some(key) = env(&self.access_key_id_env, "the access key id")? {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = env(&self.secret_access_key_env, "the secret access key")? {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = env(&self.session_token_env, "the session token")? {
            builder = builder.with_token(token);
        }
        builder
            .build()
            .map_err(|e| format!("storage `{}`: cannot configure S3: {e}", self.url))
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
    fn storage_names_one_bucket_and_missing_secrets() {
        let mut storage = StorageConfig {
            url: "s3://lake/".to_string(),
            endpoint: Some("http://127.0.0.1:1".to_string()),
            allow_http: Some(true),
            access_key_id_env: Some("LAKETAP_TEST_SURELY_UNSET_KEY".to_string()),
            ..StorageConfig::default()
        };
        assert_eq!(storage.bucket(), Ok("lake"));
        let err = storage.build().expect_err("unset variable");
        assert!(err.contains("$LAKETAP_TEST_SURELY_UNSET_KEY"), "{err}");
        storage.url = "s3://lake/prefix".to_string();
        assert!(storage.bucket().is_err());
        storage.url = "gs://lake".to_string();
        assert!(storage.bucket().is_err());
    }

    #[test]
    fn s3_urls_get_a_trailing_slash() {
        let loc = Location::resolve(Path::new("c/a.toml"), "s3://bucket/amp/users").expect("s3");
        assert_eq!(loc.url().expect("url").as_str(), "s3://bucket/amp/users/");
        assert!(Location::resolve(Path::new("c/a.toml"), "gs://b/x").is_err());
        assert!(Location::resolve(Path::new("c/a.toml"), "s3:///x").is_err());
    }
}
