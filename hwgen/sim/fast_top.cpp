// The design side of the fast bench: wraps the Verilated top (built with --prefix Vtop)
// behind the HwgenTop interface of fast_top.h.

#include "fast_top.h"

#include "Vtop.h"
#include "verilated.h"
#ifdef HWGEN_TRACE
#include "verilated_fst_c.h"
#endif

namespace {

class Top final : public HwgenTop {
  public:
    explicit Top(VerilatedContext* context) : top_(context) {}

    // Verilator spells the "__" of a Verilog port name "___05F".
    void drive(bool rst, bool in_valid, uint64_t in_payload, bool out_ready) override {
        top_.rst = rst;
        top_.i_events___05Fvalid = in_valid;
        top_.i_events___05Fpayload = in_payload;
        top_.o_events___05Fready = out_ready;
    }
    void set_clock(bool clk) override {
        top_.clk = clk;
        top_.eval();
    }
    bool in_ready() const override { return top_.i_events___05Fready; }
    void trace(VerilatedFstC* fst) override {
#ifdef HWGEN_TRACE
        top_.trace(fst, 99);
#else
        (void)fst;
#endif
    }
    void final() override { top_.final(); }

  private:
    Vtop top_;
};

}  // namespace

HwgenTop* hwgen_make_top(VerilatedContext* context) { return new Top(context); }
