#include "shared/write_transaction.hpp"

#include "shared/error.hpp"

namespace sqlrep {

WriteTransaction::WriteTransaction(Connection& conn) : conn_(conn) {
    conn_.exec_internal("BEGIN IMMEDIATE");
}

void WriteTransaction::commit() {
    conn_.exec_internal("COMMIT");
    done_ = true;
}

WriteTransaction::~WriteTransaction() {
    // SQLite may have rolled back already (an interrupted write, some I/O errors).
    if (done_ || !conn_.in_transaction()) return;
    try {
        conn_.exec_internal("ROLLBACK");
    } catch (const Error&) {
        // Nothing of the transaction is in the file either way.
    }
}

}  // namespace sqlrep
