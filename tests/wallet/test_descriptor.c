/* Output descriptors: the BIP380 checksum and key-expression vectors, the
 * BIP381/382/383/386 test vectors for the expressions we support (pkh,
 * wpkh, sh(wpkh), multi/sortedmulti bare and in sh/wsh/sh(wsh), tr(KEY)),
 * with the scripts of positions 0, 1, 2 for ranged ones; the BIP86 vector
 * for tr(); the BIPs' invalid descriptors; format/parse round trips. The
 * vectors were transcribed from bitcoin/bips bip-0380..0386.mediawiki. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/wallet/hd.h"

#define A34 "03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
#define A34U "04a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea235"
#define WIFC "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
#define WIFU "5KYZdUEo39z3FPrtuX2QbbwGnNP5zTd7yyr2SC1j299sBCnWjss"
#define XPRV_A1 "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"
#define XPUB_6E "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
#define XPRV_V2 "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U"
#define XPRV_V1 "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
#define K16 "03669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0,0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600,0362a74e399c39ed5593852a30147f2959b56bb827dfa3e60e464b02ccf87dc5e8,0261345b53de74a4d721ef877c255429961b7e43714171ac06168d7e08c542a8b8,02da72e8b46901a65d4374fe6315538d8f368557dda3a1dcf9ea903f3afe7314c8,0318c82dd0b53fd3a932d16e0ba9e278fcc937c582d5781be626ff16e201f72286,0297ccef1ef99f9d73dec9ad37476ddb232f1238aff877af19e72ba04493361009,02e502cfd5c3f972fe9a3e2a18827820638f96b6f347e54d63deb839011fd5765d,03e687710f0e3ebe81c1037074da939d409c0025f17eb86adb9427d28f0f7ae0e9,02c04d3a5274952acdbc76987f3184b346a483d43be40874624b29e3692c1df5af,02ed06e0f418b5b43a7ec01d1d7d27290fa15f75771cb69b642a51471c29c84acd,036d46073cbb9ffee90473f3da429abc8de7f8751199da44485682a989a4bebb24,02f5d1ff7c9029a80a4e36b9a5497027ef7f3e73384a4a94fbfe7c4e9164eec8bc,02e41deffd1b7cce11cde209a781adcffdabd1b91c0ba0375857a2bfd9302419f3,02d76625f7956a7fc505ab02556c23ee72d832f1bac391bcd2d3abce5710a13d06,0399eb0a5487515802dc14544cf10b3666623762fbed2ec38a3975716e2c29c232"
#define W20 "KzoAz5CanayRKex3fSLQ2BwJpN7U52gZvxMyk78nDMHuqrUxuSJy,KwGNz6YCCQtYvFzMtrC6D3tKTKdBBboMrLTsjr2NYVBwapCkn7Mr,KxogYhiNfwxuswvXV66eFyKcCpm7dZ7TqHVqujHAVUjJxyivxQ9X,L2BUNduTSyZwZjwNHynQTF14mv2uz2NRq5n5sYWTb4FkkmqgEE9f,L1okJGHGn1kFjdXHKxXjwVVtmCMR2JA5QsbKCSpSb7ReQjezKeoD,KxDCNSST75HFPaW5QKpzHtAyaCQC7p9Vo3FYfi2u4dXD1vgMiboK,L5edQjFtnkcf5UWURn6UuuoFrabgDQUHdheKCziwN42aLwS3KizU,KzF8UWFcEC7BYTq8Go1xVimMkDmyNYVmXV5PV7RuDicvAocoPB8i,L3nHUboKG2w4VSJ5jYZ5CBM97oeK6YuKvfZxrefdShECcjEYKMWZ,KyjHo36dWkYhimKmVVmQTq3gERv3pnqA4xFCpvUgbGDJad7eS8WE,KwsfyHKRUTZPQtysN7M3tZ4GXTnuov5XRgjdF2XCG8faAPmFruRF,KzCUbGhN9LJhdeFfL9zQgTJMjqxdBKEekRGZX24hXdgCNCijkkap,KzgpMBwwsDLwkaC5UrmBgCYaBD2WgZ7PBoGYXR8KT7gCA9UTN5a3,KyBXTPy4T7YG4q9tcAM3LkvfRpD1ybHMvcJ2ehaWXaSqeGUxEdkP,KzJDe9iwJRPtKP2F2AoN6zBgzS7uiuAwhWCfGdNeYJ3PC1HNJ8M8,L1xbHrxynrqLKkoYc4qtoQPx6uy5qYXR5ZDYVYBSRmCV5piU3JG9,KzRedjSwMggebB3VufhbzpYJnvHfHe9kPJSjCU5QpJdAW3NSZxYS,Kyjtp5858xL7JfeV4PNRCKy2t6XvgqNNepArGY9F9F1SSPqNEMs3,L2D4RLHPiHBidkHS8ftx11jJk1hGFELvxh8LoxNQheaGT58dKenW,KyLPZdwY4td98bKkXqEXTEBX3vwEYTQo1yyLjX2jKXA63GBpmSjv"

typedef struct {
    const char *desc;
    const char *scripts[3]; /* positions 0, 1, 2 (one for non-ranged) */
} valid_vec;

static const valid_vec VALID[] = {
    /* BIP381 */
    {"pkh([deadbeef/1/2'/3/4']" WIFC ")", {"76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"}},
    {"pkh([deadbeef/1/2'/3/4']" A34 ")", {"76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"}},
    {"pkh([deadbeef/1/2h/3/4h]" A34 ")", {"76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"}},
    {"pkh(" WIFU ")", {"76a914b5bd079c4d57cc7fc28ecf8213a6b791625b818388ac"}},
    {"pkh(" A34U ")", {"76a914b5bd079c4d57cc7fc28ecf8213a6b791625b818388ac"}},
    {"pkh(" XPRV_V2 "/2147483647'/0)", {"76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac"}},
    {"pkh([bd16bee5/2147483647h]xpub69H7F5dQzmVd3vPuLKtcXJziMEQByuDidnX3YdwgtNsecY5HRGtAAQC5mXTt4dsv9RzyjgDjAQs9VGVV6ydYCHnprc9vvaA5YtqWyL6hyds/0)",
     {"76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac"}},
    /* BIP382 */
    {"wpkh(" WIFC ")", {"00149a1c78a507689f6f54b847ad1cef1e614ee23f1e"}},
    {"wpkh(" A34 ")", {"00149a1c78a507689f6f54b847ad1cef1e614ee23f1e"}},
    {"wpkh([ffffffff/13']xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt/1/2/0)",
     {"0014326b2249e3a25d5dc60935f044ee835d090ba859"}},
    {"wpkh([ffffffff/13']xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH/1/2/*)",
     {"0014326b2249e3a25d5dc60935f044ee835d090ba859", "0014af0bd98abc2f2cae66e36896a39ffe2d32984fb7",
      "00141fa798efd1cbf95cebf912c031b8a4a6e9fb9f27"}},
    {"sh(wpkh(" XPRV_V1 "/10/20/30/40/*'))",
     {"a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87", "a914bed59fc0024fae941d6e20a3b44a109ae740129287",
      "a9148483aa1116eb9c05c482a72bada4b1db24af654387"}},
    {"sh(wpkh(" XPRV_V1 "/10/20/30/40/*h))",
     {"a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87", "a914bed59fc0024fae941d6e20a3b44a109ae740129287",
      "a9148483aa1116eb9c05c482a72bada4b1db24af654387"}},
    /* BIP383 */
    {"multi(1," WIFC "," WIFU ")", {"512103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd4104a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea23552ae"}},
    {"multi(1," A34 "," A34U ")", {"512103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd4104a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea23552ae"}},
    {"sortedmulti(1," A34U "," A34 ")", {"512103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd4104a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea23552ae"}},
    {"sh(multi(2,[00000000/111'/222]" XPRV_A1 ",xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L/0))",
     {"a91445a9a622a8b0a1269944be477640eedc447bbd8487"}},
    {"sortedmulti(2," XPUB_6E "/*,xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y/0/0/*)",
     {"5221025d5fc65ebb8d44a5274b53bac21ff8307fec2334a32df05553459f8b1f7fe1b62102fbd47cc8034098f0e6a94c6aeee8528abf0a2153a5d8e46d325b7284c046784652ae",
      "52210264fd4d1f5dea8ded94c61e9641309349b62f27fbffe807291f664e286bfbe6472103f4ece6dfccfa37b211eb3d0af4d0c61dba9ef698622dc17eecdf764beeb005a652ae",
      "5221022ccabda84c30bad578b13c89eb3b9544ce149787e5b538175b1d1ba259cbb83321024d902e1a2fc7a8755ab5b694c575fce742c48d9ff192e63df5193e4c7afe1f9c52ae"}},
    {"wsh(multi(2," XPRV_V2 "/2147483647'/0,xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt/1/2/*," XPRV_V1 "/10/20/30/40/*'))",
     {"0020b92623201f3bb7c3771d45b2ad1d0351ea8fbf8cfe0a0e570264e1075fa1948f",
      "002036a08bbe4923af41cf4316817c93b8d37e2f635dd25cfff06bd50df6ae7ea203",
      "0020a96e7ab4607ca6b261bfe3245ffda9c746b28d3f59e83d34820ec0e2b36c139c"}},
    {"sh(wsh(multi(16," K16 ")))", {"a9147fc63e13dc25e8a95a3cee3d9a714ac3afd96f1e87"}},
    {"wsh(multi(20," W20 "))", {"0020376bd8344b8b6ebe504ff85ef743eaa1aa9272178223bcb6887e9378efb341ac"}},
    {"sh(wsh(multi(20," W20 ")))", {"a914c2c9c510e9d7f92fd6131e94803a8d34a8ef675e87"}},
    /* BIP386 (key path only) */
    {"tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
     {"512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11"}},
    {"tr(" WIFC ")", {"512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11"}},
    /* BIP86 test vector: m/86'/0'/0'/0/0 and /0/1 of "abandon ... about" */
    {"tr([73c5da0a/86'/0'/0']xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ/0/*)",
     {"5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
      "5120a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb"}},
};

static const char *const INVALID[] = {
    /* BIP380 key expressions (inside pkh) */
    "pkh([deadbeef/0h/0h/0h/*]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbeef/0h/0h/0h/]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbef/0h/0h/0h]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbeeef/0h/0h/0h]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbeef/0f/0f/0f]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbeef/0H/0H/0H]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh([deadbeef/-0/-0/-0]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600)",
    "pkh(" WIFC "/0)",
    "pkh(" WIFC "/*)",
    "pkh(" XPRV_V2 "/2147483648)",
    "pkh(" XPRV_V2 "/1aa)",
    "pkh([aaaaaaaa][aaaaaaaa]" XPRV_V2 "/2147483647'/0)",
    "pkh(aaaaaaaa]" XPRV_V2 "/2147483647'/0)",
    "pkh([gaaaaaaa]" XPRV_V2 "/2147483647'/0)",
    "pkh([deadbeef])",
    /* BIP381/382 */
    "pkh(pk(" A34 "))",
    "sh(" A34 ")",
    "sh(sh(pkh(" A34 ")))",
    "wpkh(" WIFU ")",
    "sh(wpkh(" WIFU "))",
    "wpkh(" A34U ")",
    "sh(wpkh(" A34U "))",
    "wsh(wpkh(" A34 "))",
    "wsh(wsh(pkh(" A34 ")))",
    "sh(wsh(wsh(pkh(" A34 "))))",
    "wpkh(wsh(pkh(" A34 ")))",
    "wsh(" A34 ")",
    /* BIP383 */
    "sh(multi(16," K16 "))",
    "multi(a," A34 "," A34U ")",
    "multi(0," A34 "," A34U ")",
    "multi(3," WIFC "," WIFU ")",
    /* BIP386 */
    "tr(" WIFU ")",
    "tr(" A34U ")",
    "wsh(tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd))",
    "sh(tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd))",
    "tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd, pkh(" WIFC "))",
    /* ours: x-only outside tr, bare multi over 3 keys, trailing text, truncation */
    "pkh(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
    "multi(1," A34 "," A34 "," A34 "," A34 ")",
    "pkh(" A34 "))",
    "pkh(" A34,
    "",
    "wpkh(",
    "sh(wpkh(" A34 ")",
    "pkh(020000000000000000000000000000000000000000000000000000000000000007)", /* not on the curve */
};

/* BIP386 vectors with a script tree: valid BIP, unsupported here. */
static const char *const UNSUPPORTED[] = {
    "tr(" XPRV_A1 "/0/*,pk(" XPRV_A1 "/1/*))",
    "tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd,pk(669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0))",
    "pk(" A34 ")",
    "raw(deadbeef)",
};

static void script_hex(char *hex, const kg_wallet_desc *d, uint32_t i)
{
    uint8_t spk[KG_WALLET_SCRIPT_MAX_BYTES];
    size_t n = 0;
    kg_err err = kg_wallet_desc_script(spk, &n, d, i);
    if (err != KG_OK) fail_msg("script %u: %s", i, kg_err_detail(err));
    kg_hex_encode(hex, spk, n);
}

static void test_valid(void **state)
{
    (void)state;
    size_t scripts = 0;
    static kg_wallet_desc d, d2; /* large: keep off the stack */
    for (size_t v = 0; v < sizeof VALID / sizeof *VALID; v++) {
        const valid_vec *t = &VALID[v];
        if (kg_wallet_desc_parse(&d, t->desc, false) != KG_OK)
            fail_msg("'%.60s...': %s", t->desc, kg_err_detail(KG_ERR_BAD_INPUT));
        for (uint32_t i = 0; i < 3 && t->scripts[i]; i++) {
            char hex[2 * KG_WALLET_SCRIPT_MAX_BYTES + 1];
            script_hex(hex, &d, i);
            if (strcmp(hex, t->scripts[i]) != 0) fail_msg("'%.60s' #%u: %s != %s", t->desc, i, hex, t->scripts[i]);
            scripts++;
        }
        assert_int_equal(kg_wallet_desc_is_ranged(&d), t->scripts[1] != NULL);
        /* write it back (private and public), parse again: same scripts */
        for (int priv = 0; priv < 2; priv++) {
            char text[KG_WALLET_DESC_MAX_BYTES];
            assert_int_equal(kg_wallet_desc_format(text, sizeof text, &d, priv), KG_OK);
            if (kg_wallet_desc_parse(&d2, text, true) != KG_OK) {
                /* hardened steps need the xprv: the public form cannot derive them */
                fail_msg("reparse of '%s': %s", text, kg_err_detail(KG_ERR_BAD_INPUT));
            }
            char a[2 * KG_WALLET_SCRIPT_MAX_BYTES + 1], b[2 * KG_WALLET_SCRIPT_MAX_BYTES + 1];
            uint8_t spk[KG_WALLET_SCRIPT_MAX_BYTES];
            size_t n;
            script_hex(a, &d, 0);
            if (kg_wallet_desc_script(spk, &n, &d2, 0) == KG_OK) {
                kg_hex_encode(b, spk, n);
                assert_string_equal(a, b);
            } else {
                assert_false(priv); /* only the public form may lack a key it needs */
            }
        }
    }
    kg_wallet_desc_wipe(&d);
    kg_wallet_desc_wipe(&d2);
    printf("descriptors: %zu BIP381/382/383/386/86 descriptors valid, %zu scripts match\n",
           sizeof VALID / sizeof *VALID, scripts);
}

static void test_invalid(void **state)
{
    (void)state;
    static kg_wallet_desc d;
    static const kg_wallet_desc zero;
    for (size_t i = 0; i < sizeof INVALID / sizeof *INVALID; i++) {
        memset(&d, 0x55, sizeof d);
        if (kg_wallet_desc_parse(&d, INVALID[i], false) != KG_ERR_BAD_INPUT)
            fail_msg("accepted invalid descriptor %zu: %.80s", i, INVALID[i]);
        assert_memory_equal(&d, &zero, sizeof d);
    }
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof *UNSUPPORTED; i++)
        assert_int_equal(kg_wallet_desc_parse(&d, UNSUPPORTED[i], false), KG_ERR_BAD_INPUT);
    printf("descriptors: %zu invalid rejected; %zu valid-but-unsupported (script trees, pk, raw) rejected\n",
           sizeof INVALID / sizeof *INVALID, sizeof UNSUPPORTED / sizeof *UNSUPPORTED);
}

/* BIP380 "Test Vectors" for the checksum. raw() is not an expression we
 * parse, so the checksum is checked directly and the parser is expected
 * to complain about the checksum before anything else. */
static void test_checksum(void **state)
{
    (void)state;
    char sum[KG_WALLET_DESC_CHECKSUM_BYTES + 1];
    static kg_wallet_desc d;
    assert_int_equal(kg_wallet_desc_checksum(sum, "raw(deadbeef)"), KG_OK);
    assert_string_equal(sum, "89f8spxm");
    assert_int_equal(kg_wallet_desc_parse(&d, "raw(deadbeef)#89f8spxm", false), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "unsupported"));   /* checksum was fine */
    static const char *const bad[] = {
        "raw(deadbeef)#", "raw(deadbeef)#89f8spxmx", "raw(deadbeef)#89f8spx", "raw(deedbeef)#89f8spxm",
        "raw(deedbeef)##9f8spxm",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(kg_wallet_desc_parse(&d, bad[i], false), KG_ERR_BAD_INPUT);
        assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "checksum"));
    }
    assert_int_equal(kg_wallet_desc_parse(&d, "raw(\xc3\x9c)#00000000", false), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "charset"));
    assert_int_equal(kg_wallet_desc_checksum(sum, "raw(\xc3\x9c)"), KG_ERR_BAD_INPUT);
    /* a supported descriptor with and without its checksum */
    char text[KG_WALLET_DESC_MAX_BYTES];
    assert_int_equal(kg_wallet_desc_parse(&d, "wpkh(" A34 ")", true), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_desc_parse(&d, "wpkh(" A34 ")", false), KG_OK);
    assert_int_equal(kg_wallet_desc_format(text, sizeof text, &d, false), KG_OK);
    assert_int_equal(kg_wallet_desc_checksum(sum, "wpkh(" A34 ")"), KG_OK);
    assert_int_equal(strcmp(strchr(text, '#') + 1, sum), 0);
    assert_int_equal(kg_wallet_desc_parse(&d, text, true), KG_OK);
    text[strlen(text) - 1] ^= 1;
    assert_int_equal(kg_wallet_desc_parse(&d, text, true), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_wallet_desc_format(text, 10, &d, false), KG_ERR_BAD_INPUT);
}

/* BIP380 valid key expressions (wrapped in pkh) parse; a hardened step
 * after an xpub parses but cannot derive a script. */
static void test_key_expressions(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600", A34U,
        "[deadbeef/0h/0h/0h]0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600",
        "[deadbeef/0'/0'/0']0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600",
        "[deadbeef/0'/0h/0']0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600",
        WIFU, WIFC, XPUB_6E, "[deadbeef/0h/1h/2h]" XPUB_6E, "[deadbeef/0h/1h/2h]" XPUB_6E "/3/4/5",
        "[deadbeef/0h/1h/2h]" XPUB_6E "/3/4/5/*", XPUB_6E "/3h/4h/5h/*", XPUB_6E "/3h/4h/5h/*h",
        "[deadbeef/0h/1h/2]" XPUB_6E "/3h/4h/5h/*h", XPRV_A1, "[deadbeef/0h/1h/2h]" XPRV_A1,
        "[deadbeef/0h/1h/2h]" XPRV_A1 "/3/4/5", "[deadbeef/0h/1h/2h]" XPRV_A1 "/3/4/5/*", XPRV_A1 "/3h/4h/5h/*",
        XPRV_A1 "/3h/4h/5h/*h", "[deadbeef/0h/1h/2]" XPRV_A1 "/3h/4h/5h/*h",
    };
    static kg_wallet_desc d;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char text[512];
        snprintf(text, sizeof text, "pkh(%s)", keys[i]);
        if (kg_wallet_desc_parse(&d, text, false) != KG_OK) fail_msg("'%s': %s", keys[i], kg_err_detail(KG_ERR_BAD_INPUT));
        uint8_t spk[KG_WALLET_SCRIPT_MAX_BYTES];
        size_t n;
        kg_err err = kg_wallet_desc_script(spk, &n, &d, 0);
        bool pub_hardened = strstr(keys[i], XPUB_6E "/3h") != NULL;
        assert_int_equal(err, pub_hardened ? KG_ERR_BAD_INPUT : KG_OK);
    }
    assert_int_equal(kg_wallet_desc_parse(&d, "wpkh(" XPUB_6E "/*)", false), KG_OK);
    uint8_t spk[KG_WALLET_SCRIPT_MAX_BYTES];
    size_t n = 1;
    assert_int_equal(kg_wallet_desc_script(spk, &n, &d, 0x80000000u), KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    printf("descriptors: %zu BIP380 key expressions parse\n", sizeof keys / sizeof *keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_key_expressions),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
