#pragma once
// The one RAII write transaction: BEGIN IMMEDIATE at construction, COMMIT by commit(),
// ROLLBACK when it goes out of scope uncommitted (an error, an exception). Used by the
// sequencer, the applier, log trimming and snapshot installs, so no path can leave a
// writer connection inside a transaction.
//
// On the thread that owns the connection. commit() may throw (a failed fsync): the
// transaction is then rolled back by the destructor, and the file keeps what it had
// before BEGIN.

#include "shared/connection.hpp"

namespace sqlrep {

class WriteTransaction {
  public:
    explicit WriteTransaction(Connection& conn);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void commit();

  private:
    Connection& conn_;
    bool done_ = false;
};

}  // namespace sqlrep
