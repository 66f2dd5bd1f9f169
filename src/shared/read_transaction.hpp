#pragma once
// RAII read transaction on a read connection: everything read inside it, data and the
// applied index alike, comes from one snapshot of the database.

#include "shared/connection.hpp"

namespace sqlrep {

class ReadTransaction {
  public:
    explicit ReadTransaction(Connection& conn) : conn_(conn) { conn_.exec_internal("BEGIN"); }
    ~ReadTransaction() {
        try {
            conn_.exec_internal("COMMIT");
        } catch (const std::exception&) {
            // A read transaction has nothing to lose, but it must end: a connection left
            // inside it fails its next BEGIN and pins its snapshot.
            try {
                if (conn_.in_transaction()) conn_.exec_internal("ROLLBACK");
            } catch (const std::exception&) {
            }
        }
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    Connection& conn_;
};

}  // namespace sqlrep
