//! S3 for Redshift processors (SPEC §9): the processed CSV is uploaded to
//! `s3://<bucket>/<prefix>/<S.T>/<run id>.csv`, loaded with `COPY … FROM 's3://…'`, and deleted
//! once the run is over. The endpoint is configurable for S3-compatible stores.

use crate::config::S3Config;
use crate::ident::TableName;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;

/// A configured bucket.
pub struct Bucket {
    store: AmazonS3,
    pub bucket: String,
    prefix: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Bucket {
    /// Connects to the configured bucket; the error names the missing setting.
    pub fn open(config: &S3Config) -> Result<Bucket, String> {
        if config.bucket.is_empty() {
            return Err(
                "processor tables on Redshift need an S3 bucket: set s3.bucket (or DURO_S3_BUCKET)"
                    .into(),
            );
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
        if !config.region.is_empty() {
            builder = builder.with_region(&config.region);
        }
        if !config.endpoint.is_empty() {
            builder = builder
                .with_endpoint(&config.endpoint)
                .with_allow_http(config.endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if !config.access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(config.access_key_id.expose())
                .with_secret_access_key(config.secret_access_key.expose());
        }
        let store = builder
            .build()
            .map_err(|e| format!("cannot use S3 bucket {}: {e}", config.bucket))?;
        Ok(Bucket {
            store,
            bucket: config.bucket.clone(),
            prefix: config.prefix.trim_matches('/').to_string(),
        })
    }

    /// `<prefix>/<S.T>/<run id>.csv`.
    pub fn key(&self, table: &TableName, run: i64) -> String {
        object_key(&self.prefix, table, run)
    }

    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    pub async fn upload(&self, key: &str, file: &std::path::Path) -> Result<(), String> {
        let data = tokio::fs::read(file)
            .await
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        self.store
            .put(&ObjectPath::from(key), data.into())
            .await
            .map(drop)
            .map_err(|e| format!("upload to {} failed: {e}", self.url(key)))
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.store
            .delete(&ObjectPath::from(key))
            .await
            .map_err(|e| format!("deleting {} failed: {e}", self.url(key)))
    }
}

/// The object key of a run's file.
pub fn object_key(prefix: &str, table: &TableName, run: i64) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("{table}/{run}.csv")
    } else {
        format!("{prefix}/{table}/{run}.csv")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let t = TableName::parse("first.countries").unwrap();
        assert_eq!(object_key("duro/", &t, 42), "duro/first.countries/42.csv");
        assert_eq!(object_key("", &t, 7), "first.countries/7.csv");
    }
}
