//! One query text for both databases.
//!
//! sqlx's checked `query!` macros target one database at a time and its `Any` driver
//! copies every row into its own value type, so Otklik writes each query once in the
//! SQL both dialects accept (`$1` placeholders work in SQLite too) and binds typed
//! [`Arg`]s to the native driver of whichever backend is open. Rows are read straight
//! from the native row through [`Row::get`]. Where the dialects differ the caller
//! branches on [`Conn::dialect`].
//!
//! The SQLite writer talks to SQLite directly (rusqlite, [`Conn::Lite`]) on its own
//! thread: a ticket takes about ten statements, and through sqlx each is a hop to
//! the driver's worker thread and back; called in place they cost microseconds.
//! Readers keep sqlx's pool. Both use the same SQLite library and the same file.

use crate::StoreError;
use domain::Timestamp;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Postgres, Sqlite};
use std::borrow::Cow;
use uuid::Uuid;

/// Which SQL dialect a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value. Nulls carry their type: PostgreSQL checks parameter types even for NULL.
#[derive(Clone, Debug)]
pub enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident $(via $conv:expr)?),* $(,)?) => {$(
        impl From<$t> for Arg {
            fn from(x: $t) -> Arg { Arg::$v(Some(arg_from!(@conv x $($conv)?))) }
        }
        impl From<Option<$t>> for Arg {
            fn from(x: Option<$t>) -> Arg { Arg::$v(x.map(|x| arg_from!(@conv x $($conv)?))) }
        }
    )*};
    (@conv $x:ident) => { $x.into() };
    (@conv $x:ident $conv:expr) => { ($conv)($x) };
}

arg_from!(
    i64 => I64,
    f64 => F64,
    bool => Bool,
    String => Text,
    &str => Text via |s: &str| s.to_owned(),
    &String => Text via |s: &String| s.clone(),
    Uuid => Uuid,
    Vec<u8> => Bytes,
    &[u8] => Bytes via |b: &[u8]| b.to_vec(),
    Timestamp => I64 via |t: Timestamp| t.millis(),
    domain::ids::WorkspaceId => Uuid via |i: domain::ids::WorkspaceId| i.0,
    domain::ids::UserId => Uuid via |i: domain::ids::UserId| i.0,
    domain::ids::TeamId => Uuid via |i: domain::ids::TeamId| i.0,
    domain::ids::CustomerId => Uuid via |i: domain::ids::CustomerId| i.0,
    domain::ids::IdentityId => Uuid via |i: domain::ids::IdentityId| i.0,
    domain::ids::TicketId => Uuid via |i: domain::ids::TicketId| i.0,
    domain::ids::MessageId => Uuid via |i: domain::ids::MessageId| i.0,
    domain::ids::AttachmentId => Uuid via |i: domain::ids::AttachmentId| i.0,
    domain::ids::TokenId => Uuid via |i: domain::ids::TokenId| i.0,
    domain::ids::SessionId => Uuid via |i: domain::ids::SessionId| i.0,
    domain::ids::FieldId => Uuid via |i: domain::ids::FieldId| i.0,
    domain::ids::AccountId => Uuid via |i: domain::ids::AccountId| i.0,
    domain::ids::HeldId => Uuid via |i: domain::ids::HeldId| i.0,
    domain::ids::CategoryId => Uuid via |i: domain::ids::CategoryId| i.0,
    domain::ids::ArticleId => Uuid via |i: domain::ids::ArticleId| i.0,
    domain::ids::FaqId => Uuid via |i: domain::ids::FaqId| i.0,
    domain::ids::GroupId => Uuid via |i: domain::ids::GroupId| i.0,
    domain::ids::VisitorId => Uuid via |i: domain::ids::VisitorId| i.0,
    domain::ids::CalendarId => Uuid via |i: domain::ids::CalendarId| i.0,
    domain::ids::SlaPolicyId => Uuid via |i: domain::ids::SlaPolicyId| i.0,
    domain::ids::RuleId => Uuid via |i: domain::ids::RuleId| i.0,
    domain::ids::MacroId => Uuid via |i: domain::ids::MacroId| i.0,
    domain::ids::WebhookId => Uuid via |i: domain::ids::WebhookId| i.0,
    domain::ids::DeliveryId => Uuid via |i: domain::ids::DeliveryId| i.0,
    domain::ids::SuggestionId => Uuid via |i: domain::ids::SuggestionId| i.0,
    domain::ids::OrderId => Uuid via |i: domain::ids::OrderId| i.0,
    domain::ids::StoreId => Uuid via |i: domain::ids::StoreId| i.0,
    domain::ids::OutreachRuleId => Uuid via |i: domain::ids::OutreachRuleId| i.0,
    domain::ids::TriageCategoryId => Uuid via |i: domain::ids::TriageCategoryId| i.0,
    domain::ids::FlowId => Uuid via |i: domain::ids::FlowId| i.0,
    domain::ids::ReminderId => Uuid via |i: domain::ids::ReminderId| i.0,
    domain::ids::OrganizationId => Uuid via |i: domain::ids::OrganizationId| i.0,
    domain::ids::SideId => Uuid via |i: domain::ids::SideId| i.0,
    domain::ids::SideMessageId => Uuid via |i: domain::ids::SideMessageId| i.0,
    domain::ids::SurveyId => Uuid via |i: domain::ids::SurveyId| i.0,
    domain::ids::TouchpointId => Uuid via |i: domain::ids::TouchpointId| i.0,
    domain::ids::LinkId => Uuid via |i: domain::ids::LinkId| i.0,
    domain::ids::TrendId => Uuid via |i: domain::ids::TrendId| i.0,
    domain::ids::ScorecardId => Uuid via |i: domain::ids::ScorecardId| i.0,
    domain::ids::ReviewId => Uuid via |i: domain::ids::ReviewId| i.0,
    domain::ids::OutreachId => Uuid via |i: domain::ids::OutreachId| i.0,
);

/// A query text with its arguments.
#[derive(Clone, Debug)]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// Starts a query.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub fn bind(mut self, a: impl Into<Arg>) -> Self {
        self.args.push(a.into());
        self
    }
    /// The next placeholder's number, for queries assembled piece by piece.
    pub fn next_param(&self) -> usize {
        self.args.len() + 1
    }
    /// Appends `$n, $n+1, …` for `items` and binds them (the inside of an `IN (…)`).
    pub fn bind_list<A: Into<Arg>>(mut self, items: impl IntoIterator<Item = A>) -> Self {
        for (i, a) in items.into_iter().enumerate() {
            let n = self.next_param();
            self.sql
                .to_mut()
                .push_str(&format!("{}${n}", if i == 0 { "" } else { ", " }));
            self.args.push(a.into());
        }
        self
    }

    /// Appends `sep` and one parenthesised row of placeholders for `args`, bound (a
    /// row of a multi-row `VALUES`).
    pub fn bind_row(mut self, sep: &str, args: impl IntoIterator<Item = Arg>) -> Self {
        self.sql.to_mut().push_str(sep);
        self.sql.to_mut().push('(');
        for (i, a) in args.into_iter().enumerate() {
            let n = self.next_param();
            self.sql
                .to_mut()
                .push_str(&format!("{}${n}", if i == 0 { "" } else { ", " }));
            self.args.push(a);
        }
        self.sql.to_mut().push(')');
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }
    /// Appends SQL text (for dynamic filters).
    pub fn push(mut self, sql: &str) -> Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    fn sqlite(&self) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
        let mut q = sqlx::query::<Sqlite>(&self.sql);
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Uuid(v) => q.bind(*v),
                Arg::Bytes(v) => q.bind(v.as_deref()),
            };
        }
        q
    }

    /// The text for rusqlite: `$N` becomes `?N` (SQLite binds `?N` by number, while
    /// `$N` would be a name numbered in order of appearance).
    fn lite_sql(&self) -> String {
        let mut out = String::with_capacity(self.sql.len());
        let mut chars = self.sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('?');
            } else {
                out.push(c);
            }
        }
        out
    }

    fn lite_bind(&self, st: &mut rusqlite::Statement<'_>) -> Result<(), StoreError> {
        use rusqlite::types::Value as V;
        for (i, a) in self.args.iter().enumerate() {
            let v = match a {
                Arg::I64(v) => v.map(V::Integer),
                Arg::F64(v) => v.map(V::Real),
                Arg::Bool(v) => v.map(|b| V::Integer(i64::from(b))),
                Arg::Text(v) => v.clone().map(V::Text),
                Arg::Uuid(v) => v.map(|u| V::Blob(u.as_bytes().to_vec())),
                Arg::Bytes(v) => v.clone().map(V::Blob),
            }
            .unwrap_or(V::Null);
            st.raw_bind_parameter(i + 1, v)?;
        }
        Ok(())
    }

    fn pg(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query::<Postgres>(&self.sql);
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Uuid(v) => q.bind(*v),
                Arg::Bytes(v) => q.bind(v.as_deref()),
            };
        }
        q
    }
}

/// A borrowed native connection.
pub enum Conn<'a> {
    /// SQLite through sqlx (the read pool).
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
    /// SQLite called directly (the writer).
    Lite(&'a mut rusqlite::Connection),
}

/// A result row of any connection.
pub enum Row<'r> {
    Sqlite(&'r SqliteRow),
    Pg(&'r PgRow),
    Lite(&'r rusqlite::Row<'r>),
}

/// A column type every driver can decode.
pub trait Col: Sized {
    fn sqlx_sqlite(r: &SqliteRow, i: usize) -> Result<Self, sqlx::Error>;
    fn sqlx_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error>;
    fn lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, rusqlite::Error>;
}

macro_rules! col {
    ($($t:ty),* $(,)?) => {$(
        impl Col for $t {
            fn sqlx_sqlite(r: &SqliteRow, i: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(r, i)
            }
            fn sqlx_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
                sqlx::Row::try_get(r, i)
            }
            fn lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, rusqlite::Error> {
                r.get(i)
            }
        }
    )*};
}
col!(
    i64,
    f64,
    bool,
    String,
    Vec<u8>,
    Uuid,
    Option<i64>,
    Option<f64>,
    Option<bool>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Uuid>
);

impl Row<'_> {
    /// Column `i` as `T`.
    pub fn get<T: Col>(&self, i: usize) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(r) => T::sqlx_sqlite(r, i).map_err(StoreError::from),
            Row::Pg(r) => T::sqlx_pg(r, i).map_err(StoreError::from),
            Row::Lite(r) => T::lite(r, i).map_err(StoreError::from),
        }
    }
    pub fn time(&self, i: usize) -> Result<Timestamp, StoreError> {
        self.get::<i64>(i).map(Timestamp::from_millis)
    }
    pub fn time_opt(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get::<Option<i64>>(i)?.map(Timestamp::from_millis))
    }
    pub fn id<T: From<Uuid>>(&self, i: usize) -> Result<T, StoreError> {
        self.get::<Uuid>(i).map(T::from)
    }
    pub fn id_opt<T: From<Uuid>>(&self, i: usize) -> Result<Option<T>, StoreError> {
        Ok(self.get::<Option<Uuid>>(i)?.map(T::from))
    }
    /// A stored wire-enum spelling parsed back; a bad value means the database was
    /// changed behind Otklik's back.
    pub fn parse<T>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<T, domain::DomainError>,
    ) -> Result<T, StoreError> {
        let s: String = self.get(i)?;
        parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, StoreError> {
        let s: String = self.get(i)?;
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// A type built from one result row.
pub trait FromRow: Sized {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError>;
}

macro_rules! scalar_from_row {
    ($($t:ty),*) => {$(
        impl FromRow for $t {
            fn from_row(row: &Row<'_>) -> Result<Self, StoreError> { row.get(0) }
        }
    )*};
}
scalar_from_row!(
    i64,
    String,
    Uuid,
    bool,
    Vec<u8>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<String>,
    Option<Uuid>
);

impl<A: Col, B: Col> FromRow for (A, B) {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl<A: Col, B: Col, C: Col> FromRow for (A, B, C) {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

impl<A: Col, B: Col, C: Col, D: Col> FromRow for (A, B, C, D) {
    fn from_row(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    }
}

impl Conn<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) | Conn::Lite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; the number of rows it touched.
    pub async fn execute(&mut self, q: &Query) -> Result<u64, StoreError> {
        Ok(match self {
            Conn::Sqlite(c) => q.sqlite().execute(&mut **c).await?.rows_affected(),
            Conn::Pg(c) => q.pg().execute(&mut **c).await?.rows_affected(),
            Conn::Lite(c) => {
                let mut st = c.prepare_cached(&q.lite_sql())?;
                q.lite_bind(&mut st)?;
                st.raw_execute()? as u64
            }
        })
    }

    pub async fn fetch_all<T: FromRow>(&mut self, q: &Query) -> Result<Vec<T>, StoreError> {
        match self {
            Conn::Sqlite(c) => q
                .sqlite()
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(|r| T::from_row(&Row::Sqlite(r)))
                .collect(),
            Conn::Pg(c) => q
                .pg()
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(|r| T::from_row(&Row::Pg(r)))
                .collect(),
            Conn::Lite(c) => {
                let mut st = c.prepare_cached(&q.lite_sql())?;
                q.lite_bind(&mut st)?;
                let mut rows = st.raw_query();
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(T::from_row(&Row::Lite(r))?);
                }
                Ok(out)
            }
        }
    }

    pub async fn fetch_optional<T: FromRow>(&mut self, q: &Query) -> Result<Option<T>, StoreError> {
        match self {
            Conn::Sqlite(c) => q
                .sqlite()
                .fetch_optional(&mut **c)
                .await?
                .map(|r| T::from_row(&Row::Sqlite(&r)))
                .transpose(),
            Conn::Pg(c) => q
                .pg()
                .fetch_optional(&mut **c)
                .await?
                .map(|r| T::from_row(&Row::Pg(&r)))
                .transpose(),
            Conn::Lite(c) => {
                let mut st = c.prepare_cached(&q.lite_sql())?;
                q.lite_bind(&mut st)?;
                let mut rows = st.raw_query();
                let first = match rows.next()? {
                    Some(r) => Some(T::from_row(&Row::Lite(r))?),
                    None => None,
                };
                // Step to the end so that a RETURNING statement completes all its rows.
                while rows.next()?.is_some() {}
                Ok(first)
            }
        }
    }

    pub async fn fetch_one<T: FromRow>(&mut self, q: &Query) -> Result<T, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    /// Runs several statements separated by `;` with no arguments (migrations, pragmas).
    pub async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        use sqlx::Executor as _;
        match self {
            Conn::Sqlite(c) => {
                c.execute(sql).await?;
            }
            Conn::Pg(c) => {
                c.execute(sql).await?;
            }
            Conn::Lite(c) => c.execute_batch(sql)?,
        }
        Ok(())
    }
}
