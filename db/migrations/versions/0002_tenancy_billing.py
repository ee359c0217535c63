"""users, services, subscriptions, row level security, monthly revenue view

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("customers", "users", "services", "subscriptions", "billing_runs")

user_role = postgresql.ENUM("admin", "member", name="user_role", create_type=False)
subscription_status = postgresql.ENUM(
    "active", "paused", "cancelled", name="subscription_status", create_type=False
)


def _timestamps() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _tenant_fk() -> tuple[sa.Column, sa.ForeignKeyConstraint]:
    return (
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
    )


def upgrade() -> None:
    # The tenant of the current transaction, set by the app with set_config(..., true).
    op.execute(
        """
        CREATE FUNCTION app_current_org() RETURNS uuid
        LANGUAGE sql STABLE AS
        $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$
        """
    )
    user_role.create(op.get_bind())
    subscription_status.create(op.get_bind())

    org_col, org_fk = _tenant_fk()
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        org_col,
        sa.Column("email", postgresql.CITEXT(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", user_role, server_default="member", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _timestamps(),
        org_fk,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "email", name="users_org_email_key"),
    )
    org_col, org_fk = _tenant_fk()
    op.create_table(
        "services",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        org_col,
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        _timestamps(),
        org_fk,
        sa.CheckConstraint("unit_price >= 0", name="services_unit_price_nonnegative"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "code", name="services_org_code_key"),
    )
    org_col, org_fk = _tenant_fk()
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        org_col,
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("status", subscription_status, server_default="active", nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        _timestamps(),
        org_fk,
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="RESTRICT"),
        sa.CheckConstraint("quantity > 0", name="subscriptions_quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="subscriptions_unit_price_nonnegative"),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= started_on", name="subscriptions_period_valid"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_customer_id", "subscriptions", ["customer_id"])
    op.create_index(
        "uq_subscriptions_one_active",
        "subscriptions",
        ["customer_id", "service_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    org_col, org_fk = _tenant_fk()
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        org_col,
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        _timestamps(),
        org_fk,
        sa.PrimaryKeyConstraint("id"),
    )

    # Row Level Security: the app role sees and writes only the current tenant's rows.
    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenant_isolation ON organizations USING (id = app_current_org())")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING (organization_id = app_current_org())"
        )

    # Login needs the tenant of a slug before any tenant is set.
    op.execute(
        """
        CREATE FUNCTION organization_id_for_slug(p_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
        $$ SELECT id FROM organizations WHERE slug = p_slug $$
        """
    )

    # Revenue per customer per month. A materialized view has no RLS: the app reads it
    # only through tenant_monthly_revenue, which filters on the current tenant.
    op.execute(
        """
        CREATE MATERIALIZED VIEW monthly_revenue AS
        SELECT s.organization_id,
               s.customer_id,
               m.month::date AS month,
               sum(s.unit_price * s.quantity)::numeric(14, 2) AS revenue
        FROM subscriptions s
        CROSS JOIN LATERAL generate_series(
            date_trunc('month', s.started_on),
            date_trunc('month', coalesce(s.ended_on, greatest(s.started_on, current_date))),
            interval '1 month'
        ) AS m(month)
        WHERE s.status <> 'cancelled'
        GROUP BY s.organization_id, s.customer_id, m.month
        WITH DATA
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_monthly_revenue ON monthly_revenue "
        "(organization_id, customer_id, month)"
    )
    op.execute("REVOKE ALL ON monthly_revenue FROM app")
    op.execute(
        """
        CREATE VIEW tenant_monthly_revenue WITH (security_barrier) AS
        SELECT organization_id, customer_id, month, revenue
        FROM monthly_revenue
        WHERE organization_id = app_current_org()
        """
    )
    op.execute("GRANT SELECT ON tenant_monthly_revenue TO app")
    op.execute(
        """
        CREATE FUNCTION refresh_monthly_revenue() RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path = public AS
        $$ REFRESH MATERIALIZED VIEW CONCURRENTLY monthly_revenue $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION refresh_monthly_revenue()")
    op.execute("DROP VIEW tenant_monthly_revenue")
    op.execute("DROP MATERIALIZED VIEW monthly_revenue")
    op.execute("DROP FUNCTION organization_id_for_slug(text)")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute("DROP POLICY tenant_isolation ON organizations")
    op.execute("ALTER TABLE organizations DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE customers DISABLE ROW LEVEL SECURITY")
    op.drop_table("billing_runs")
    op.drop_index("uq_subscriptions_one_active", table_name="subscriptions")
    op.drop_index("ix_subscriptions_customer_id", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("services")
    op.drop_table("users")
    subscription_status.drop(op.get_bind())
    user_role.drop(op.get_bind())
    op.execute("DROP FUNCTION app_current_org()")
