from django.db import migrations

from licensing.db import postgresql_only

# Issued invoices and their lines are snapshots: the database refuses to delete them or to
# change what was billed. Status, payment date and the rendered PDF may still change.
POSTGRES_UP = """
CREATE OR REPLACE FUNCTION licensing_guard_issued_invoice() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice %-%-% is issued and cannot be deleted', OLD.series, OLD.year, OLD.number;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.number IS DISTINCT FROM OLD.number OR NEW.series IS DISTINCT FROM OLD.series
        OR NEW.year IS DISTINCT FROM OLD.year OR NEW.net_total IS DISTINCT FROM OLD.net_total
        OR NEW.tax_total IS DISTINCT FROM OLD.tax_total OR NEW.gross_total IS DISTINCT FROM OLD.gross_total
        OR NEW.buyer IS DISTINCT FROM OLD.buyer OR NEW.issuer IS DISTINCT FROM OLD.issuer
        OR NEW.tax_rate IS DISTINCT FROM OLD.tax_rate OR NEW.currency IS DISTINCT FROM OLD.currency
    ) THEN
        RAISE EXCEPTION 'invoice %-%-% is issued and cannot be edited', OLD.series, OLD.year, OLD.number;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER invoice_issued_immutable BEFORE UPDATE OR DELETE ON licensing_invoice
    FOR EACH ROW EXECUTE FUNCTION licensing_guard_issued_invoice();

CREATE OR REPLACE FUNCTION licensing_guard_issued_invoice_line() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM licensing_invoice i WHERE i.id = OLD.invoice_id AND i.status <> 'draft') THEN
        RAISE EXCEPTION 'the lines of an issued invoice cannot be changed';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER invoiceline_issued_immutable BEFORE UPDATE OR DELETE ON licensing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION licensing_guard_issued_invoice_line();

CREATE OR REPLACE FUNCTION licensing_refuse_payment_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'payments are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payment_append_only BEFORE UPDATE OR DELETE ON licensing_payment
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_payment_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS invoice_issued_immutable ON licensing_invoice;
DROP TRIGGER IF EXISTS invoiceline_issued_immutable ON licensing_invoiceline;
DROP TRIGGER IF EXISTS payment_append_only ON licensing_payment;
DROP FUNCTION IF EXISTS licensing_guard_issued_invoice();
DROP FUNCTION IF EXISTS licensing_guard_issued_invoice_line();
DROP FUNCTION IF EXISTS licensing_refuse_payment_change();
"""


class Migration(migrations.Migration):
    dependencies = [("licensing", "0005_billing")]
    operations = [postgresql_only(POSTGRES_UP, POSTGRES_DOWN)]
