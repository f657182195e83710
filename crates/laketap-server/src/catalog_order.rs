//! OIDs of lake relations that are the same in every server run.
//!
//! datafusion-pg-catalog numbers schemas and relations from 16384 in the
//! order it first meets them, and it meets them in the order the catalogs
//! list their names. DataFusion's in-memory schemas (`kpi`, the ingest
//! tables) list theirs in hash order, which changes from one run to the
//! next: `clients.people` was 16388 in one run and 16467 in the next, same
//! catalog. A client that keeps OIDs across reconnects (pgjdbc's caches, a
//! BI tool's metadata cache) then looked up the wrong relation after a
//! restart. [`SortedCatalog`] gives pg_catalog every list of names sorted,
//! and the server reads pg_class once as it starts (the descriptions'
//! refresh), before any client: the same catalog gets the same OIDs in
//! every run. A relation added while the server runs takes the next one.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::CatalogProviderList;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion_pg_catalog::pg_catalog::catalog_info::CatalogInfo;

/// The catalogs as pg_catalog reads them, each list of names sorted.
#[derive(Debug, Clone)]
pub struct SortedCatalog(pub Arc<dyn CatalogProviderList>);

fn sorted(names: Option<Vec<String>>) -> Option<Vec<String>> {
    names.map(|mut names| {
        names.sort();
        names
    })
}

#[async_trait]
impl CatalogInfo for SortedCatalog {
    async fn catalog_names(&self) -> Result<Vec<String>, DataFusionError> {
        let mut names = CatalogInfo::catalog_names(&self.0).await?;
        names.sort();
        Ok(names)
    }

    async fn schema_names(&self, catalog: &str) -> Result<Option<Vec<String>>, DataFusionError> {
        Ok(sorted(CatalogInfo::schema_names(&self.0, catalog).await?))
    }

    async fn table_names(
        &self,
        catalog: &str,
        schema: &str,
    ) -> Result<Option<Vec<String>>, DataFusionError> {
        Ok(sorted(
            CatalogInfo::table_names(&self.0, catalog, schema).await?,
        ))
    }

    async fn table_schema(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<SchemaRef>, DataFusionError> {
        CatalogInfo::table_schema(&self.0, catalog, schema, table).await
    }

    async fn table_type(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<TableType>, DataFusionError> {
        CatalogInfo::table_type(&self.0, catalog, schema, table).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn names_are_listed_sorted() {
        let ctx = SessionContext::new();
        for table in ["zeta", "alpha", "mid", "beta", "omega"] {
            ctx.sql(&format!("CREATE TABLE {table} (a INT)"))
                .await
                .expect("create");
        }
        let catalog = SortedCatalog(ctx.state().catalog_list().clone());
        assert_eq!(
            catalog
                .table_names("datafusion", "public")
                .await
                .expect("names"),
            Some(
                ["alpha", "beta", "mid", "omega", "zeta"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            catalog
                .table_type("datafusion", "public", "mid")
                .await
                .expect("type"),
            Some(TableType::Base)
        );
    }
}
