/* libFuzzer target for the MPC node protocol decoder (src/mpc/node_proto.c):
 * the frames a node reads from the coordinator and the coordinator reads
 * back. Whatever kg_mpc_node_msg_decode accepts must encode back to the
 * same bytes; a rejection leaves the output zeroed. An ERROR frame's body
 * goes through kg_mpc_node_error_decode, and any body through the bounded
 * reader, which must never read past the end. */
#include <kashguard/mpc/node.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kg_mpc_node_msg m;
    if (kg_mpc_node_msg_decode(&m, data, size) != KG_OK) {
        static const kg_mpc_node_msg zero;
        if (memcmp(&m, &zero, sizeof m) != 0)
            abort();
        return 0;
    }
    kg_bytes again = { 0 };
    if (kg_mpc_node_msg_encode(&again, &m) == KG_OK &&
        (again.len != size || memcmp(again.data, data, size) != 0))
        abort(); /* decode and encode disagree */
    kg_bytes_free(&again);
    if (m.type == KG_MPC_NODE_ERROR)
        (void)kg_mpc_node_error_decode(&m, 1);
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m.body, m.body_len);
    while (!r.bad && r.left > 0) {
        size_t len = 0;
        (void)kg_mpc_node_rd_u16(&r);
        (void)kg_mpc_node_rd_blob(&r, &len, 4096);
        (void)kg_mpc_node_rd_fixed(&r, 32);
    }
    (void)kg_mpc_node_rd_end(&r, "fuzz body");
    return 0;
}
