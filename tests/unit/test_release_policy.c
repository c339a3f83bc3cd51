/* Unit tests for lib/keyrel/release_policy.c: Azure Secure Key Release
 * policies (https://learn.microsoft.com/azure/key-vault/keys/policy-grammar).
 *
 * A table of policy/claims cases: every operator met and not met, dotted
 * claim names, absent claims, type mismatches, nested anyOf/allOf (to depth
 * 5), authority matching, each with the exact deciding clause and reason;
 * test_eval_table_coverage checks the table covers each operator of the
 * grammar in each of those ways. The grammar checked against is
 * https://learn.microsoft.com/azure/key-vault/keys/policy-grammar (the same
 * EBNF on the Managed HSM page, learn.microsoft.com/azure/key-vault/
 * managed-hsm/policy-grammar): value = string | number | true | false;
 * operator = equals | notEquals | less | lessOrEquals | greater |
 * greaterOrEquals | exists; condition = claim | anyOf | allOf, each list
 * "one is required"; policy = {version "1.0.0", anyOf [authority, ...]}.
 * Where the grammar is silent (types, absent claims) the readings are
 * lib/keyrel/release_policy.c's header's, each with its source; the
 * evaluator agreed with the grammar on every case added here. Then every parse
 * refusal with its exact message (the JSON path of the member), the caps,
 * and Microsoft's published example policies verbatim. Policies are written
 * with ' for " and handed to the parser in an exact-size buffer without a
 * terminator, so ASan sees a read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/release_policy.h"

#define ISSUER "https://tld.test"

/* ' -> " in an exact-size, unterminated copy; *len its size. */
static char *dq(const char *s, size_t *len)
{
    *len = strlen(s);
    char *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    for (size_t i = 0; i < *len; i++)
        b[i] = s[i] == '\'' ? '"' : s[i];
    return b;
}

static struct tl_release_policy *parse_ok(const char *text)
{
    size_t len;
    char *b = dq(text, &len);
    struct tl_release_policy *p = NULL;
    struct tl_error err = {0};
    int r = tl_release_policy_parse(b, len, &p, &err);
    free(b);
    if (r != 0)
        fail_msg("%s: %s", text, err.message);
    assert_non_null(p);
    return p;
}

static json_t *claims_of(const char *text)
{
    size_t len;
    char *b = dq(text, &len);
    json_error_t je;
    json_t *c = json_loadb(b, len, 0, &je);
    free(b);
    if (!c)
        fail_msg("claims %s: %s", text, je.text);
    return c;
}

/* The node of most cases: a trusted-launch node's claims with a TEE object. */
static const char node_claims[] =
    "{'secureboot': true, 'x-ms-attestation-type': 'azurevm', 'svn': 3, 'ratio': 1.5,"
    " 'name': 'beta', 'nul': null, 'obj': {'a': 1}, 'list': [1],"
    " 'x-ms-isolation-tee': {'x-ms-attestation-type': 'sevsnpvm',"
    "                        'x-ms-compliance-status': 'azure-compliant-cvm'}}";

struct eval_case {
    const char *what;
    const char *conds; /* the allOf of one entry for ISSUER; NULL: policy is whole */
    const char *policy;
    const char *claims; /* NULL: node_claims */
    bool granted;
    const char *clause;
    const char *reason;
};

#define MET1    "authority \"" ISSUER "\": allOf of 1 condition met"
#define ONE(c)  "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER "','allOf':[" c "]}]}"
#define C(x, o) "{'claim':'" x "','" o
#define NOT(r)  false, "anyOf[0].allOf[0]", r

static const struct eval_case eval_cases[] = {
    /* equals: strings, booleans, numbers (integer and real by value) */
    {"equals string", C("x-ms-attestation-type", "equals':'azurevm'}"), NULL, NULL, true,
     "anyOf[0]", MET1},
    {"equals string, other value", C("x-ms-attestation-type", "equals':'sevsnpvm'}"), NULL, NULL,
     NOT("claim \"x-ms-attestation-type\" is \"azurevm\", want equals \"sevsnpvm\"")},
    {"equals true", C("secureboot", "equals':true}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"equals true, claim false", C("secureboot", "equals':true}"), NULL, "{'secureboot':false}",
     NOT("claim \"secureboot\" is false, want equals true")},
    {"equals false", C("secureboot", "equals':false}"), NULL, "{'secureboot':false}", true,
     "anyOf[0]", MET1},
    {"equals integer", C("svn", "equals':3}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"equals real 3.0 = integer 3", C("svn", "equals':3.0}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"equals real", C("ratio", "equals':1.5}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"equals integer, other", C("svn", "equals':4}"), NULL, NULL,
     NOT("claim \"svn\" is 3, want equals 4")},
    {"equals is case-sensitive", C("name", "equals':'BETA'}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\", want equals \"BETA\"")},
    /* notEquals */
    {"notEquals met", C("name", "notEquals':'alpha'}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"notEquals not met", C("name", "notEquals':'beta'}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\", want notEquals \"beta\"")},
    {"notEquals bool", C("secureboot", "notEquals':false}"), NULL, NULL, true, "anyOf[0]", MET1},
    /* ordering on numbers */
    {"less met", C("svn", "less':4}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"less equal value", C("svn", "less':3}"), NULL, NULL, NOT("claim \"svn\" is 3, want less 3")},
    {"lessOrEquals equal value", C("svn", "lessOrEquals':3}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"lessOrEquals not met", C("svn", "lessOrEquals':2}"), NULL, NULL,
     NOT("claim \"svn\" is 3, want lessOrEquals 2")},
    {"greater met", C("svn", "greater':2}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"greater equal value", C("svn", "greater':3}"), NULL, NULL,
     NOT("claim \"svn\" is 3, want greater 3")},
    {"greaterOrEquals equal value", C("svn", "greaterOrEquals':3}"), NULL, NULL, true, "anyOf[0]",
     MET1},
    {"greaterOrEquals not met", C("svn", "greaterOrEquals':4}"), NULL, NULL,
     NOT("claim \"svn\" is 3, want greaterOrEquals 4")},
    {"greater, real claim vs integer", C("ratio", "greater':1}"), NULL, NULL, true, "anyOf[0]",
     MET1},
    {"less, real vs real", C("ratio", "less':1.5}"), NULL, NULL,
     NOT("claim \"ratio\" is 1.5, want less 1.5")},
    {"greater, negative", C("svn", "greater':-1}"), NULL, NULL, true, "anyOf[0]", MET1},
    /* ordering on strings: byte order */
    {"string greater", C("name", "greater':'alpha'}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"string less", C("name", "less':'alpha'}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\", want less \"alpha\"")},
    {"string prefix orders first", C("name", "greaterOrEquals':'bet'}"), NULL, NULL, true,
     "anyOf[0]", MET1},
    /* exists */
    {"exists true, present", C("secureboot", "exists':true}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"exists true, present null", C("nul", "exists':true}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"exists true, absent", C("tpm", "exists':true}"), NULL, NULL,
     NOT("claim \"tpm\" is absent, want exists true")},
    {"exists false, absent", C("tpm", "exists':false}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"exists false, present", C("secureboot", "exists':false}"), NULL, NULL,
     NOT("claim \"secureboot\" is present, want exists false")},
    /* dotted names */
    {"dotted name", C("x-ms-isolation-tee.x-ms-attestation-type", "equals':'sevsnpvm'}"), NULL,
     NULL, true, "anyOf[0]", MET1},
    {"dotted name, number", C("obj.a", "equals':1}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"dotted name, absent leaf", C("x-ms-isolation-tee.nope", "equals':'x'}"), NULL, NULL,
     NOT("claim \"x-ms-isolation-tee.nope\" is absent, want equals \"x\"")},
    {"dotted name through a number", C("svn.x", "exists':true}"), NULL, NULL,
     NOT("claim \"svn.x\" is absent, want exists true")},
    {"dotted name, exists false through a number", C("svn.x", "exists':false}"), NULL, NULL, true,
     "anyOf[0]", MET1},
    {"no array indexes", C("list[0]", "equals':1}"), NULL, NULL,
     NOT("claim \"list[0]\" is absent, want equals 1")},
    {"a top-level name with the dotted one's last part",
     C("x-ms-compliance-status", "equals':'azure-compliant-cvm'}"), NULL, NULL,
     NOT("claim \"x-ms-compliance-status\" is absent, want equals "
         "\"azure-compliant-cvm\"")},
    /* absent claims: every operator false */
    {"absent, notEquals", C("missing", "notEquals':'x'}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want notEquals \"x\"")},
    {"absent, less", C("missing", "less':10}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want less 10")},
    {"absent, empty claims", C("secureboot", "equals':true}"), NULL, "{}",
     NOT("claim \"secureboot\" is absent, want equals true")},
    {"absent, lessOrEquals", C("missing", "lessOrEquals':10}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want lessOrEquals 10")},
    {"absent, greater", C("missing", "greater':-10}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want greater -10")},
    {"absent, greaterOrEquals", C("missing", "greaterOrEquals':'a'}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want greaterOrEquals \"a\"")},
    {"absent, notEquals false", C("missing", "notEquals':false}"), NULL, NULL,
     NOT("claim \"missing\" is absent, want notEquals false")},
    /* type mismatches: false, notEquals included */
    {"number vs string", C("svn", "equals':'3'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want equals \"3\" (a string)")},
    {"number vs string, notEquals", C("svn", "notEquals':'3'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want notEquals \"3\" (a string)")},
    {"bool vs string", C("secureboot", "equals':'true'}"), NULL, NULL,
     NOT("claim \"secureboot\" is true (a boolean), want equals \"true\" (a string)")},
    {"bool vs number", C("secureboot", "equals':1}"), NULL, NULL,
     NOT("claim \"secureboot\" is true (a boolean), want equals 1 (a number)")},
    {"string vs number, greater", C("name", "greater':1}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\" (a string), want greater 1 (a number)")},
    /* the rest of the matrix: each ordering operator, both directions */
    {"number vs string, less", C("svn", "less':'9'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want less \"9\" (a string)")},
    {"number vs string, lessOrEquals", C("svn", "lessOrEquals':'9'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want lessOrEquals \"9\" (a string)")},
    {"number vs string, greater", C("svn", "greater':'0'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want greater \"0\" (a string)")},
    {"number vs string, greaterOrEquals", C("svn", "greaterOrEquals':'0'}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want greaterOrEquals \"0\" (a string)")},
    {"string vs number, less", C("name", "less':9}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\" (a string), want less 9 (a number)")},
    {"string vs number, equals", C("name", "equals':0}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\" (a string), want equals 0 (a number)")},
    {"string vs number, notEquals", C("name", "notEquals':0}"), NULL, NULL,
     NOT("claim \"name\" is \"beta\" (a string), want notEquals 0 (a number)")},
    {"string vs bool, equals", C("name", "equals':true}"), NULL, "{'name':'true'}",
     NOT("claim \"name\" is \"true\" (a string), want equals true (a boolean)")},
    {"number vs bool, notEquals", C("svn", "notEquals':false}"), NULL, NULL,
     NOT("claim \"svn\" is 3 (a number), want notEquals false (a boolean)")},
    {"bool vs number, notEquals", C("secureboot", "notEquals':0}"), NULL, NULL,
     NOT("claim \"secureboot\" is true (a boolean), want notEquals 0 (a number)")},
    {"bool vs number, lessOrEquals", C("secureboot", "lessOrEquals':1}"), NULL, NULL,
     NOT("claim \"secureboot\" is true (a boolean), want lessOrEquals 1 (a number)")},
    {"bool vs string, greaterOrEquals", C("secureboot", "greaterOrEquals':'a'}"), NULL, NULL,
     NOT("claim \"secureboot\" is true (a boolean), want greaterOrEquals \"a\" (a string)")},
    /* exists is about presence, whatever the type */
    {"exists true, a string", C("name", "exists':true}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"exists true, an object", C("obj", "exists':true}"), NULL, NULL, true, "anyOf[0]", MET1},
    {"exists false, a number", C("svn", "exists':false}"), NULL, NULL,
     NOT("claim \"svn\" is present, want exists false")},
    {"null claim", C("nul", "equals':'x'}"), NULL, NULL,
     NOT("claim \"nul\" is null, want equals \"x\" (a string)")},
    {"object claim", C("obj", "notEquals':1}"), NULL, NULL,
     NOT("claim \"obj\" is an object, want notEquals 1 (a number)")},
    {"array claim", C("list", "equals':1}"), NULL, NULL,
     NOT("claim \"list\" is an array, want equals 1 (a number)")},
    /* claim values in reasons: quoted, escaped, cut */
    {"escaped claim value", C("name", "equals':'x'}"), NULL, "{'name':'a\\nb\\\"c'}",
     NOT("claim \"name\" is \"a\\x0ab\\\"c\", want equals \"x\"")},
    {"long claim value cut", C("name", "equals':'x'}"), NULL,
     "{'name':'0123456789012345678901234567890123456789012345678901234567890123456789'}",
     NOT("claim \"name\" is \"0123456789012345678901234567890123456789012345678901234567890123...\""
         ", want equals \"x\"")},
    {"cut between UTF-8 characters", C("name", "equals':'x'}"), NULL,
     "{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u00e9\u00e9'}",
     NOT("claim \"name\" is \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\""
         ", want equals \"x\"")},
    {"UTF-8 kept whole", C("name", "equals':'x'}"), NULL, "{'name':'\u00e9t\u00e9'}",
     NOT("claim \"name\" is \"\xc3\xa9t\xc3\xa9\", want equals \"x\"")},
    /* allOf: the first condition not met decides */
    {"allOf, all met",
     C("secureboot", "equals':true},") C("svn", "greaterOrEquals':2},") C("name", "exists':true}"),
     NULL, NULL, true, "anyOf[0]", "authority \"" ISSUER "\": allOf of 3 conditions met"},
    {"allOf, second not met",
     C("secureboot", "equals':true},") C("svn", "greater':5},") C("nope", "exists':true}"), NULL,
     NULL, false, "anyOf[0].allOf[1]", "claim \"svn\" is 3, want greater 5"},
    /* nesting */
    {"allOf > anyOf, met",
     C("x-ms-isolation-tee.x-ms-compliance-status",
       "equals':'azure-compliant-cvm'},") "{'anyOf':[" C("x-ms-isolation-tee.x-ms-attestation-type",
                                                         "equals':'tdxvm'},")
         C("x-ms-isolation-tee.x-ms-attestation-type", "equals':'sevsnpvm'}") "]}",
     NULL, NULL, true, "anyOf[0]", "authority \"" ISSUER "\": allOf of 2 conditions met"},
    {"allOf > anyOf, none met",
     C("secureboot", "equals':true},") "{'anyOf':[" C("x-ms-attestation-type", "equals':'tdxvm'},")
         C("x-ms-attestation-type", "equals':'sevsnpvm'}") "]}",
     NULL, NULL, false, "anyOf[0].allOf[1]",
     "none of 2 alternatives met; first: anyOf[0].allOf[1].anyOf[0]: claim "
     "\"x-ms-attestation-type\" is \"azurevm\", want equals \"tdxvm\""},
    {"anyOf of one: the child decides",
     "{'anyOf':[" C("x-ms-attestation-type", "equals':'tdxvm'}") "]}", NULL, NULL, false,
     "anyOf[0].allOf[0].anyOf[0]",
     "claim \"x-ms-attestation-type\" is \"azurevm\", want equals \"tdxvm\""},
    {"allOf > anyOf > allOf (the grammar page's shape), met by the inner allOf",
     C("secureboot", "equals':true},") "{'anyOf':[" C("name", "equals':'alpha'},") "{'allOf':[" C(
         "svn", "greaterOrEquals':3},") C("ratio", "less':2}") "]}]}",
     NULL, NULL, true, "anyOf[0]", "authority \"" ISSUER "\": allOf of 2 conditions met"},
    {"allOf > anyOf > allOf, inner allOf fails second",
     C("secureboot", "equals':true},") "{'anyOf':["
                                       "{'allOf':[" C("svn", "greaterOrEquals':3},")
                                           C("ratio", "less':1}") "]}," C("name",
                                                                          "equals':'alpha'}") "]}",
     NULL, NULL, false, "anyOf[0].allOf[1]",
     "none of 2 alternatives met; first: anyOf[0].allOf[1].anyOf[0].allOf[1]: claim \"ratio\" "
     "is 1.5, want less 1"},
    /* depth 4 and 5 (entry > allOf > anyOf > allOf > anyOf): the deciding
     * clause is the outermost list that failed, its reason names the
     * first inner failure down to the claim, path and all */
    {"depth 4: allOf > anyOf > allOf > anyOf, met through the innermost anyOf's second",
     C("secureboot", "equals':true},") "{'anyOf':[" C("name", "equals':'alpha'},") "{'allOf':[" C(
         "svn", "greaterOrEquals':3},") "{'anyOf':[" C("ratio", "greater':2},")
         C("ratio", "lessOrEquals':1.5}") "]}]}]}",
     NULL, NULL, true, "anyOf[0]", "authority \"" ISSUER "\": allOf of 2 conditions met"},
    {"depth 4: the innermost anyOf fails",
     C("secureboot", "equals':true},") "{'anyOf':[" C("name", "equals':'alpha'},") "{'allOf':[" C(
         "svn", "greaterOrEquals':3},") "{'anyOf':[" C("ratio", "greater':2},")
         C("ratio", "less':1.5}") "]}]}]}",
     NULL, NULL, false, "anyOf[0].allOf[1]",
     "none of 2 alternatives met; first: anyOf[0].allOf[1].anyOf[0]: claim \"name\" is "
     "\"beta\", want equals \"alpha\""},
    {"depth 4: the second alternative's allOf fails at its anyOf, first alternative is deeper",
     C("secureboot", "equals':true},") "{'anyOf':[{'allOf':[" C("svn", "less':9},") "{'anyOf':[" C(
         "ratio", "greater':2},")
         C("name", "equals':'gamma'}") "]}]}," C("name", "equals':'alpha'}") "]}",
     NULL, NULL, false, "anyOf[0].allOf[1]",
     "none of 2 alternatives met; first: anyOf[0].allOf[1].anyOf[0].allOf[1]: none of 2 "
     "alternatives met; first: anyOf[0].allOf[1].anyOf[0].allOf[1].anyOf[0]: claim \"ratio\" is "
     "1.5, want greater 2"},
    {"depth 5 under an anyOf entry: met by a nested allOf's nested anyOf", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "','anyOf':[" C("name", "equals':'alpha'},") "{'allOf':[" C(
         "svn",
         "equals':3},") "{'anyOf':[" C("nope",
                                       "exists':true},") "{'allOf':[" C("obj.a",
                                                                        "equals':1},") "{'anyOf':"
                                                                                       "[" C(
                                                                                           "x-ms-"
                                                                                           "isola"
                                                                                           "tion-"
                                                                                           "tee."
                                                                                           "x-ms-"
                                                                                           "attes"
                                                                                           "tatio"
                                                                                           "n-"
                                                                                           "type",
                                                                                           "equal"
                                                                                           "s':'"
                                                                                           "sevsn"
                                                                                           "pvm'"
                                                                                           "}") "]}"
                                                                                                "]}"
                                                                                                "]}"
                                                                                                "]}"
                                                                                                "]}"
                                                                                                "]"
                                                                                                "}",
     NULL, true, "anyOf[0]", "authority \"" ISSUER "\": anyOf of 2 conditions met"},
    {"anyOf entry", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "','anyOf':[" C("name", "equals':'alpha'},") C("name", "equals':'beta'}") "]}]}",
     NULL, true, "anyOf[0]", "authority \"" ISSUER "\": anyOf of 2 conditions met"},
    {"anyOf entry, none met", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "','anyOf':[" C("name", "equals':'alpha'},") C("name", "equals':'gamma'}") "]}]}",
     NULL, false, "anyOf[0]",
     "none of 2 alternatives met; first: anyOf[0].anyOf[0]: claim \"name\" is \"beta\", want "
     "equals \"alpha\""},
    /* authorities */
    {"authority mismatch", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'https://other.test','allOf':[" C(
         "secureboot", "equals':true}") "]}]}",
     NULL, false, "anyOf", "no entry for authority \"" ISSUER "\""},
    {"authority differs in case", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'https://TLD.test','allOf':[" C(
         "secureboot", "equals':true}") "]}]}",
     NULL, false, "anyOf", "no entry for authority \"" ISSUER "\""},
    {"authority with a trailing slash", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "/','allOf':[" C("secureboot", "equals':true}") "]}]}",
     NULL, true, "anyOf[0]", "authority \"" ISSUER "\": allOf of 1 condition met"},
    {"another authority's entry is skipped, even when its conditions hold", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'https://other.test','allOf':[" C(
         "secureboot", "equals':true}") "]},{'authority':'" ISSUER
                                        "','allOf':[" C("svn", "equals':3}") "]}]}",
     NULL, true, "anyOf[1]", "authority \"" ISSUER "\": allOf of 1 condition met"},
    {"another authority's entry cannot grant", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'https://other.test','allOf':[" C(
         "secureboot", "equals':true}") "]},{'authority':'" ISSUER
                                        "','allOf':[" C("svn", "equals':4}") "]}]}",
     NULL, false, "anyOf[1].allOf[0]", "claim \"svn\" is 3, want equals 4"},
    {"two entries for this authority, second met", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "','allOf':[" C("svn", "equals':4}") "]},{'authority':'" ISSUER
                                          "','allOf':[" C("svn", "equals':3}") "]}]}",
     NULL, true, "anyOf[1]", "authority \"" ISSUER "\": allOf of 1 condition met"},
    {"two entries for this authority, none met", NULL,
     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER
     "','allOf':[" C("svn", "equals':4}") "]},{'authority':'" ISSUER
                                          "','allOf':[" C("svn", "equals':5}") "]}]}",
     NULL, false, "anyOf",
     "none of 2 entries for this authority met; first: anyOf[0].allOf[0]: claim \"svn\" is 3, "
     "want equals 4"},
    /* a top-level allOf (Microsoft's CVM example 2 shape): every entry */
    {"top-level allOf, met", NULL,
     "{'version':'1.0.0','allOf':[{'authority':'" ISSUER
     "','allOf':[" C("svn", "equals':3}") "]},{'authority':'" ISSUER
                                          "','anyOf':[" C("name", "equals':'beta'}") "]}]}",
     NULL, true, "allOf", "authority \"" ISSUER "\": all 2 entries met"},
    {"top-level allOf, second entry not met", NULL,
     "{'version':'1.0.0','allOf':[{'authority':'" ISSUER
     "','allOf':[" C("svn", "equals':3}") "]},{'authority':'" ISSUER
                                          "','allOf':[" C("name", "equals':'alpha'}") "]}]}",
     NULL, false, "allOf[1].allOf[0]", "claim \"name\" is \"beta\", want equals \"alpha\""},
    {"top-level allOf, an entry for another authority", NULL,
     "{'version':'1.0.0','allOf':[{'authority':'" ISSUER
     "','allOf':[" C("svn", "equals':3}") "]},{'authority':'https://other.test','allOf':[" C(
         "svn", "equals':3}") "]}]}",
     NULL, false, "allOf[1]",
     "entry's authority \"https://other.test\" is not the issuer \"" ISSUER "\""},
    /* no version: read as 1.0.0 (the grammar page's example has none) */
    {"no version", NULL,
     "{'anyOf':[{'authority':'" ISSUER "','allOf':[" C("svn", "equals':3}") "]}]}", NULL, true,
     "anyOf[0]", MET1},
};

static void test_eval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
        const struct eval_case *c = &eval_cases[i];
        char text[8192];
        if (c->conds)
            snprintf(text, sizeof(text),
                     "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER "','allOf':[%s]}]}",
                     c->conds);
        else
            snprintf(text, sizeof(text), "%s", c->policy);
        struct tl_release_policy *p = parse_ok(text);
        json_t *claims = claims_of(c->claims ? c->claims : node_claims);
        struct tl_release_decision d;
        memset(&d, 0x55, sizeof(d));
        assert_int_equal(tl_release_policy_eval(p, ISSUER, claims, &d), 0);
        if (d.granted != c->granted || strcmp(d.clause, c->clause) != 0 ||
            strcmp(d.reason, c->reason) != 0)
            fail_msg("case \"%s\": got %s at \"%s\": %s\n  want %s at \"%s\": %s", c->what,
                     d.granted ? "granted" : "refused", d.clause, d.reason,
                     c->granted ? "granted" : "refused", c->clause, c->reason);
        json_decref(claims);
        tl_release_policy_free(p);
    }
}

/* The table itself: every operator of the grammar (policy-grammar's
 * "operator" production: equals, notEquals, less, lessOrEquals, greater,
 * greaterOrEquals, exists) has a single-condition case met, one not met on a
 * claim of the right type, one on an absent claim and, but for exists (about
 * presence only), one on a claim of another JSON type; and the table nests
 * lists at least 3 deep under an entry. A case removed or mislabelled shows
 * here. */
static void test_eval_table_coverage(void **state)
{
    (void)state;
    enum { MET, NOT_MET, ABSENT, MISMATCH, KINDS };
    unsigned seen[TL_RELEASE_EXISTS + 1][KINDS] = {{0}};
    size_t deepest = 0;
    for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
        const struct eval_case *c = &eval_cases[i];
        size_t depth = 0;
        for (const char *q = c->reason; (q = strstr(q, "Of[")) != NULL; q++)
            depth++;
        deepest = depth > deepest ? depth : deepest;
        if (!c->conds)
            continue;
        char text[8192];
        snprintf(text, sizeof(text), ONE("%s"), c->conds);
        struct tl_release_policy *p = parse_ok(text);
        if (p->n_nodes == 3 && p->nodes[2].kind == TL_RELEASE_CLAIM) {
            unsigned *k = seen[p->nodes[2].op];
            if (c->granted)
                k[MET]++;
            else if (strstr(c->reason, " is absent, want "))
                k[ABSENT]++;
            else if (strstr(c->reason, " (a ") || strstr(c->reason, " is null, ") ||
                     strstr(c->reason, " is an object, ") || strstr(c->reason, " is an array, "))
                k[MISMATCH]++;
            else
                k[NOT_MET]++;
        }
        tl_release_policy_free(p);
    }
    for (int op = TL_RELEASE_EQUALS; op <= TL_RELEASE_EXISTS; op++) {
        static const char *const kind[] = {"met", "not met", "absent claim", "type mismatch"};
        for (int k = 0; k < KINDS; k++)
            if (!seen[op][k] && !(op == TL_RELEASE_EXISTS && k == MISMATCH))
                fail_msg("no single-condition case of %s, %s", tl_release_op_name(op), kind[k]);
    }
    /* "anyOf[0].allOf[1].anyOf[0].allOf[1].anyOf[0]": an entry and 4 lists */
    assert_true(deepest >= 5);
}

static void test_eval_bad_args(void **state)
{
    (void)state;
    struct tl_release_policy *p = parse_ok(ONE(C("svn", "equals':3}")));
    json_t *arr = json_array();
    struct tl_release_decision d;
    assert_int_equal(tl_release_policy_eval(p, ISSUER, arr, &d), -EINVAL);
    assert_false(d.granted);
    assert_string_equal(d.reason, "claims are not an object");
    json_t *obj = json_object();
    assert_int_equal(tl_release_policy_eval(p, NULL, obj, &d), -EINVAL);
    assert_false(d.granted);
    assert_string_equal(d.reason, "no authority given");
    json_decref(arr);
    json_decref(obj);
    tl_release_policy_free(p);
}

/* ---- parse refusals ---- */

struct bad_case {
    const char *policy;
    int code;
    const char *message;
};

#define E0 "{'version':'1.0.0','anyOf':[{'authority':'" ISSUER "','allOf':["
#define E1 "]}]}"
#define UNKNOWN_COND                                                                               \
    " (a condition has \"claim\" and one of equals, notEquals, less, lessOrEquals, greater, "      \
    "greaterOrEquals, exists; or \"allOf\" or \"anyOf\")"
#define NO_OP                                                                                      \
    "\"claim\" without an operator (equals, notEquals, less, lessOrEquals, greater, "              \
    "greaterOrEquals or exists)"

static const struct bad_case bad_cases[] = {
    /* the document */
    {"[]", -EINVAL, "policy: expected a JSON object, not an array"},
    {"{'version':'1.0.0'}", -EINVAL, "policy: \"anyOf\" missing"},
    {"{'version':'1.0.0','anyOf':[],'note':1}", -EINVAL,
     "policy: unknown member \"note\" (a policy has \"version\" and \"anyOf\")"},
    {"{'version':'2.0.0','anyOf':[]}", -EINVAL,
     "version: \"2.0.0\" is not a version this parser knows (1.0.0)"},
    {"{'version':'1.0.2','anyOf':[]}", -EINVAL,
     "version: \"1.0.2\" is not a version this parser knows (1.0.0)"},
    {"{'version':1,'anyOf':[]}", -EINVAL, "version: expected a string, not a number"},
    {"{'version':'1.0.0','anyOf':[],'allOf':[]}", -EINVAL,
     "policy: \"anyOf\" and \"allOf\" both given"},
    {"{'version':'1.0.0','anyOf':{}}", -EINVAL, "anyOf: expected an array, not an object"},
    {"{'version':'1.0.0','anyOf':[]}", -EINVAL,
     "anyOf: empty (the grammar requires at least one authority)"},
    /* authority entries */
    {"{'anyOf':['" ISSUER "']}", -EINVAL, "anyOf[0]: expected an authority object, not a string"},
    {"{'anyOf':[{'allOf':[" C("a", "exists':true}") "]}]}", -EINVAL,
     "anyOf[0]: \"authority\" missing"},
    {"{'anyOf':[{'authority':7,'allOf':[" C("a", "exists':true}") "]}]}", -EINVAL,
     "anyOf[0].authority: expected a string, not a number"},
    {"{'anyOf':[{'authority':'','allOf':[" C("a", "exists':true}") "]}]}", -EINVAL,
     "anyOf[0].authority: empty"},
    {"{'anyOf':[{'authority':'a'}]}", -EINVAL, "anyOf[0]: \"allOf\" or \"anyOf\" missing"},
    {"{'anyOf':[{'authority':'a','allOf':[" C("a", "exists':true}") "],'anyOf':[" C(
         "a", "exists':true}") "]}]}",
     -EINVAL, "anyOf[0]: \"allOf\" and \"anyOf\" both given"},
    {"{'anyOf':[{'authority':'a','claim':'x','equals':1}]}", -EINVAL,
     "anyOf[0]: unknown member \"claim\" (an authority entry has \"authority\" and \"allOf\" or "
     "\"anyOf\")"},
    {"{'anyOf':[{'authority':'a','allOf':[]}]}", -EINVAL,
     "anyOf[0].allOf: empty (the grammar requires at least one condition)"},
    {"{'anyOf':[{'authority':'a','allOf':{}}]}", -EINVAL,
     "anyOf[0].allOf: expected an array, not an object"},
    /* conditions */
    {"{'anyOf':[{'authority':'a','allOf':[" C(
         "a", "exists':true}") "]},{'authority':'b',"
                               "'allOf':[{'claim':'x','equals':1,'exists':true}]}]}",
     -EINVAL, "anyOf[1].allOf[0]: \"equals\" and \"exists\" both given"},
    {E0 "{'claim':'x','greater':1,'less':5}" E1, -EINVAL,
     "anyOf[0].allOf[0]: \"greater\" and \"less\" both given"},
    {E0 "{'claim':'x'}" E1, -EINVAL, "anyOf[0].allOf[0]: " NO_OP},
    {E0 "{'equals':1}" E1, -EINVAL, "anyOf[0].allOf[0]: \"equals\" without \"claim\""},
    {E0 "{}" E1, -EINVAL,
     "anyOf[0].allOf[0]: empty condition (expected \"claim\" with an operator, \"allOf\" or "
     "\"anyOf\")"},
    {E0 "{'claim':'x','equal':1}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"equal\"" UNKNOWN_COND},
    {E0 "{'claim':'x','Equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"Equals\"" UNKNOWN_COND},
    {E0 "{'claim':'x','in':[1]}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"in\"" UNKNOWN_COND},
    {E0 "{'not':{'claim':'x','equals':1}}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"not\"" UNKNOWN_COND},
    {E0 "{'authority':'a','claim':'x','equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"authority\"" UNKNOWN_COND},
    {E0 "'x'" E1, -EINVAL, "anyOf[0].allOf[0]: expected a condition object, not a string"},
    {E0 "{'claim':5,'equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0].claim: expected a string, not a number"},
    {E0 "{'claim':'','equals':1}" E1, -EINVAL, "anyOf[0].allOf[0].claim: empty"},
    {E0 "{'claim':'a..b','equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0].claim: \"a..b\" has an empty name between dots"},
    {E0 "{'claim':'.a','equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0].claim: \".a\" has an empty name between dots"},
    {E0 "{'claim':'a.','equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0].claim: \"a.\" has an empty name between dots"},
    {E0 "{'claim':'x','equals':{'a':1}}" E1, -EINVAL,
     "anyOf[0].allOf[0].equals: expected a string, number or boolean, not an object (the grammar "
     "allows no objects, arrays or null as values)"},
    {E0 "{'claim':'x','notEquals':[1]}" E1, -EINVAL,
     "anyOf[0].allOf[0].notEquals: expected a string, number or boolean, not an array (the "
     "grammar allows no objects, arrays or null as values)"},
    {E0 "{'claim':'x','equals':null}" E1, -EINVAL,
     "anyOf[0].allOf[0].equals: expected a string, number or boolean, not null (the grammar "
     "allows no objects, arrays or null as values)"},
    {E0 "{'claim':'x','less':true}" E1, -EINVAL,
     "anyOf[0].allOf[0].less: expected a number or a string, not a boolean"},
    {E0 "{'claim':'x','greaterOrEquals':false}" E1, -EINVAL,
     "anyOf[0].allOf[0].greaterOrEquals: expected a number or a string, not a boolean"},
    {E0 "{'claim':'x','exists':'yes'}" E1, -EINVAL,
     "anyOf[0].allOf[0].exists: expected true or false, not a string"},
    {E0 "{'claim':'x','exists':1}" E1, -EINVAL,
     "anyOf[0].allOf[0].exists: expected true or false, not a number"},
    {E0 "{'claim':'x','allOf':[" C("a", "exists':true}") "]}" E1, -EINVAL,
     "anyOf[0].allOf[0]: \"allOf\" and \"claim\" both given"},
    {E0 "{'anyOf':[" C("a", "exists':true}") "],'equals':1}" E1, -EINVAL,
     "anyOf[0].allOf[0]: \"anyOf\" and \"equals\" both given"},
    {E0 "{'anyOf':[" C("a", "exists':true}") "],'allOf':[" C("a", "exists':true}") "]}" E1, -EINVAL,
     "anyOf[0].allOf[0]: \"anyOf\" and \"allOf\" both given"},
    {E0 "{'anyOf':[]}" E1, -EINVAL,
     "anyOf[0].allOf[0].anyOf: empty (the grammar requires at least one condition)"},
    {E0 C("a", "exists':true},") "{'anyOf':[" C("b", "exists':true},") "{'allOf':[" C(
         "c", "exists':true},") C("d", "exists':true},") "{'claim':'e','equal':1}]}]}" E1,
     -EINVAL, "anyOf[0].allOf[1].anyOf[1].allOf[2]: unknown member \"equal\"" UNKNOWN_COND},
    {"{'anyOf':[{'authority':'a','allOf':[" C(
         "a", "exists':true}") "]},{'authority':'b','anyOf':["
                               "{'allOf':[{'anyOf':[" C(
                                   "c", "exists':true},") "{'claim':'','equals':1}]}]}]}]}",
     -EINVAL, "anyOf[1].anyOf[0].allOf[0].anyOf[1].claim: empty"},
    {E0 C("a", "exists':true},") "{'anyOf':[{'allOf':[{'anyOf':[" C("b", "less':true}") "]}]}]}" E1,
     -EINVAL,
     "anyOf[0].allOf[1].anyOf[0].allOf[0].anyOf[0].less: expected a number or a string, "
     "not a boolean"},
    {E0 "{'allOf':[{'anyOf':[{'claim':'x','exists':true,'notEquals':2}]}]}" E1, -EINVAL,
     "anyOf[0].allOf[0].allOf[0].anyOf[0]: \"exists\" and \"notEquals\" both given"},
    /* The EBNF writes "anyof:" and "allof:" in lower case, its prose, its
     * example and every published policy "anyOf"/"allOf"; member names are
     * exact, as the operators' are ("Equals" above) */
    {"{'version':'1.0.0','anyof':[]}", -EINVAL,
     "policy: unknown member \"anyof\" (a policy has \"version\" and \"anyOf\")"},
    {E0 "{'allof':[" C("a", "exists':true}") "]}" E1, -EINVAL,
     "anyOf[0].allOf[0]: unknown member \"allof\"" UNKNOWN_COND},
    {E0 "{'claim':'a\\u0000b','equals':1}" E1, -EINVAL,
     "policy: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"' (line 1)"},
};

static void test_parse_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        size_t len;
        char *b = dq(c->policy, &len);
        struct tl_release_policy *p = (void *)1;
        struct tl_error err = {0};
        int r = tl_release_policy_parse(b, len, &p, &err);
        free(b);
        if (r != c->code || strcmp(err.message, c->message) != 0)
            fail_msg("policy %s:\n  got %d \"%s\"\n want %d \"%s\"", c->policy, r, err.message,
                     c->code, c->message);
        assert_null(p);
    }
}

static void parse_bad(const char *text, size_t len, int code, const char *message)
{
    char *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, text, len);
    struct tl_release_policy *p = NULL;
    struct tl_error err = {0};
    assert_int_equal(tl_release_policy_parse(b, len, &p, &err), code);
    assert_string_equal(err.message, message);
    assert_null(p);
    free(b);
}

static void test_parse_json_errors(void **state)
{
    (void)state;
    /* jansson's message, with the byte offset */
    const char dup[] = "{\"anyOf\":[],\"anyOf\":[]}";
    size_t len = strlen(dup);
    char *b = malloc(len);
    memcpy(b, dup, len);
    struct tl_release_policy *p = NULL;
    struct tl_error err = {0};
    assert_int_equal(tl_release_policy_parse(b, len, &p, &err), -EINVAL);
    assert_string_equal(err.message, "policy: duplicate object key near '\"anyOf\"' (line 1)");
    assert_true(err.has_offset);
    assert_int_equal(err.offset, 19);
    free(b);
    parse_bad("", 0, -EINVAL, "policy: '[' or '{' expected near end of file (line 1)");
    parse_bad("{\"anyOf\":[", 10, -EINVAL, "policy: ']' expected near end of file (line 1)");
    parse_bad("{} x", 4, -EINVAL, "policy: end of file expected near 'x' (line 1)");
    /* the input jansson quotes is escaped: one line, valid UTF-8 (fuzz_release_policy) */
    parse_bad("{\"anyOf\": [\x06\xbc]}", 14, -EINVAL,
              "policy: invalid token near '\\x06' (line 1)");
    parse_bad("{\"a\xbc\": 1}", 10, -EINVAL,
              "policy: unable to decode byte 0xbc near '\"a' (line 1)");
}

/* ---- caps ---- */

static char *big_policy(size_t n_conditions, size_t *len)
{
    size_t cap = 64 + n_conditions * 40;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t o = (size_t)snprintf(s, cap, "{\"anyOf\":[{\"authority\":\"" ISSUER "\",\"allOf\":[");
    for (size_t i = 0; i < n_conditions; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s{\"claim\":\"c%zu\",\"exists\":false}",
                              i ? "," : "", i);
    o += (size_t)snprintf(s + o, cap - o, "]}]}");
    *len = o;
    return s;
}

static void test_caps(void **state)
{
    (void)state;
    /* 1 entry + 1023 conditions = the 1024-clause cap: parsed, and evaluated */
    size_t len;
    char *s = big_policy(TL_RELEASE_POLICY_MAX_CLAUSES - 1, &len);
    struct tl_release_policy *p = NULL;
    struct tl_error err = {0};
    assert_int_equal(tl_release_policy_parse(s, len, &p, &err), 0);
    json_t *claims = json_object();
    struct tl_release_decision d;
    assert_int_equal(tl_release_policy_eval(p, ISSUER, claims, &d), 0);
    assert_true(d.granted);
    assert_string_equal(d.reason, "authority \"" ISSUER "\": allOf of 1023 conditions met");
    json_object_set_new(claims, "c1022", json_true());
    assert_int_equal(tl_release_policy_eval(p, ISSUER, claims, &d), 0);
    assert_false(d.granted);
    assert_string_equal(d.clause, "anyOf[0].allOf[1022]");
    assert_string_equal(d.reason, "claim \"c1022\" is present, want exists false");
    json_decref(claims);
    tl_release_policy_free(p);
    free(s);
    /* one more: refused, the cap named */
    s = big_policy(TL_RELEASE_POLICY_MAX_CLAUSES, &len);
    parse_bad(s, len, -E2BIG, "anyOf[0]: more than 1024 clauses (the cap)");
    free(s);

    /* depth: an entry's list is level 1; 8 levels are allowed, 9 refused */
    char text[2048];
    for (int levels = 8; levels <= 9; levels++) {
        size_t o = (size_t)snprintf(text, sizeof(text), "{\"anyOf\":[{\"authority\":\"a\"");
        for (int i = 0; i < levels; i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"allOf\":[", i ? "{" : ",");
        o += (size_t)snprintf(text + o, sizeof(text) - o, "{\"claim\":\"x\",\"exists\":true}");
        for (int i = 0; i < levels; i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o, "]}");
        o += (size_t)snprintf(text + o, sizeof(text) - o, "]}");
        if (levels == 8) {
            p = NULL;
            if (tl_release_policy_parse(text, o, &p, &err) != 0)
                fail_msg("8 levels: %s", err.message);
            tl_release_policy_free(p);
        } else {
            parse_bad(
                text, o, -E2BIG,
                "anyOf[0].allOf[0].allOf[0].allOf[0].allOf[0].allOf[0].allOf[0].allOf[0].allOf[0]: "
                "anyOf/allOf nested more than 8 deep (the cap)");
        }
    }

    /* bytes */
    size_t n = TL_RELEASE_POLICY_MAX_BYTES + 1;
    s = malloc(n);
    memset(s, ' ', n);
    parse_bad(s, n, -E2BIG, "policy: 65537 bytes, more than 65536 (the cap)");
    free(s);

    /* a claim name past 256 bytes */
    char name[300];
    memset(name, 'n', 257);
    name[257] = '\0';
    int k = snprintf(text, sizeof(text), E0 "{'claim':'%s','exists':true}" E1, name);
    for (int i = 0; i < k; i++)
        if (text[i] == '\'')
            text[i] = '"';
    parse_bad(text, (size_t)k, -E2BIG,
              "anyOf[0].allOf[0].claim: 257 bytes, more than 256 (the cap)");
}

/* ---- Microsoft's published policies, verbatim ---- */

/* https://learn.microsoft.com/azure/confidential-computing/skr-policy-examples
 * "Confidential VM AMD SEV-SNP based VM TEE SKR policy examples", Example 1. */
static const char ms_cvm_example1[] =
    "{\n"
    "    \"version\": \"1.0.0\",\n"
    "    \"anyOf\": [\n"
    "        {\n"
    "            \"authority\": \"https://sharedweu.weu.attest.azure.net\",\n"
    "            \"allOf\": [\n"
    "                {\n"
    "                    \"claim\": \"x-ms-attestation-type\",\n"
    "                    \"equals\": \"sevsnpvm\"\n"
    "                },\n"
    "                {\n"
    "                    \"claim\": \"x-ms-compliance-status\",\n"
    "                    \"equals\": \"azure-compliant-cvm\"\n"
    "                }\n"
    "            ]\n"
    "        },\n"
    "        {\n"
    "            \"authority\": \"https://sharedeus2.weu2.attest.azure.net\",\n"
    "            \"allOf\": [\n"
    "                {\n"
    "                    \"claim\": \"x-ms-attestation-type\",\n"
    "                    \"equals\": \"sevsnpvm\"\n"
    "                },\n"
    "                {\n"
    "                    \"claim\": \"x-ms-compliance-status\",\n"
    "                    \"equals\": \"azure-compliant-cvm\"\n"
    "                }\n"
    "            ]\n"
    "        }\n"
    "    ]\n"
    "}\n";

/* The same page, Example 2: a top-level "allOf" (outside the EBNF). */
static const char ms_cvm_example2[] =
    "{\n"
    "  \"version\": \"1.0.0\",\n"
    "  \"allOf\": [\n"
    "    {\n"
    "      \"authority\": \"https://sharedweu.weu.attest.azure.net\",\n"
    "      \"allOf\": [\n"
    "        {\n"
    "          \"claim\": \"x-ms-isolation-tee.x-ms-attestation-type\",\n"
    "          \"equals\": \"sevsnpvm\"\n"
    "        },\n"
    "        {\n"
    "          \"claim\": \"x-ms-isolation-tee.x-ms-compliance-status\",\n"
    "          \"equals\": \"azure-compliant-cvm\"\n"
    "        },\n"
    "        {\n"
    "          \"claim\": \"x-ms-azurevm-vmid\",\n"
    "          \"equals\": \"B958DC88-E41D-47F1-8D20-E57B6B7E9825\"\n"
    "        }\n"
    "      ]\n"
    "    }\n"
    "  ]\n"
    "}\n";

/* The same page, Intel SGX Example 3 (the one with an ordering operator). */
static const char ms_sgx_example3[] =
    "{\n"
    "  \"anyOf\": [\n"
    "    {\n"
    "      \"authority\": \"https://sharedeus2.eus2.attest.azure.net\",\n"
    "      \"allOf\": [\n"
    "        {\n"
    "          \"claim\": \"x-ms-sgx-mrsigner\",\n"
    "          \"equals\": \"9fa48b1629bd246a1de3d38fb7df97f6554cd65d6b3b72e85b86848ae6b578ba\"\n"
    "        },\n"
    "        {\n"
    "          \"claim\": \"x-ms-sgx-mrenclave\",\n"
    "          \"equals\": \"9fa48b1629bg677jfsaawed7772e85b86848ae6b578ba\"\n"
    "        },\n"
    "        {\n"
    "          \"claim\": \"x-ms-sgx-svn\",\n"
    "          \"greater\": 1\n"
    "        }\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  \"version\": \"1.0.0\"\n"
    "}\n";

/* https://learn.microsoft.com/azure/key-vault/keys/policy-grammar, "Key
 * Release Policy" (no version member). */
static const char ms_grammar_example[] = "{\n"
                                         "  \"anyOf\":\n"
                                         "  [\n"
                                         "    {\n"
                                         "      \"authority\": \"my.attestation.com\",\n"
                                         "      \"allOf\":\n"
                                         "      [\n"
                                         "        { \n"
                                         "          \"claim\": \"mr-signer\", \n"
                                         "          \"equals\": \"0123456789\"\n"
                                         "        }\n"
                                         "      ]\n"
                                         "    }\n"
                                         "  ]\n"
                                         "}\n";

static void decide_on(const char *policy, const char *authority, const char *claims, bool granted,
                      const char *clause, const char *reason)
{
    size_t len = strlen(policy);
    char *b = malloc(len);
    memcpy(b, policy, len);
    struct tl_release_policy *p = NULL;
    struct tl_error err = {0};
    if (tl_release_policy_parse(b, len, &p, &err) != 0)
        fail_msg("%s", err.message);
    free(b);
    json_t *c = claims_of(claims);
    struct tl_release_decision d;
    assert_int_equal(tl_release_policy_eval(p, authority, c, &d), 0);
    if (d.granted != granted || strcmp(d.clause, clause) != 0 || strcmp(d.reason, reason) != 0)
        fail_msg("got %s at \"%s\": %s\n want %s at \"%s\": %s", d.granted ? "granted" : "refused",
                 d.clause, d.reason, granted ? "granted" : "refused", clause, reason);
    json_decref(c);
    tl_release_policy_free(p);
}

static void test_microsoft_examples(void **state)
{
    (void)state;
    const char *weu = "https://sharedweu.weu.attest.azure.net";
    const char *snp = "{'x-ms-attestation-type':'sevsnpvm',"
                      "'x-ms-compliance-status':'azure-compliant-cvm'}";
    decide_on(ms_cvm_example1, weu, snp, true, "anyOf[0]",
              "authority \"https://sharedweu.weu.attest.azure.net\": allOf of 2 conditions met");
    decide_on(ms_cvm_example1, "https://sharedeus2.weu2.attest.azure.net/", snp, true, "anyOf[1]",
              "authority \"https://sharedeus2.weu2.attest.azure.net/\": allOf of 2 conditions met");
    decide_on(ms_cvm_example1, weu,
              "{'x-ms-attestation-type':'tdxvm','x-ms-compliance-status':'azure-compliant-cvm'}",
              false, "anyOf[0].allOf[0]",
              "claim \"x-ms-attestation-type\" is \"tdxvm\", want equals \"sevsnpvm\"");
    decide_on(ms_cvm_example1, ISSUER, snp, false, "anyOf",
              "no entry for authority \"" ISSUER "\"");

    const char *tee = "{'x-ms-isolation-tee':{'x-ms-attestation-type':'sevsnpvm',"
                      "'x-ms-compliance-status':'azure-compliant-cvm'},"
                      "'x-ms-azurevm-vmid':'B958DC88-E41D-47F1-8D20-E57B6B7E9825'}";
    decide_on(ms_cvm_example2, weu, tee, true, "allOf",
              "authority \"https://sharedweu.weu.attest.azure.net\": all 1 entries met");
    decide_on(ms_cvm_example2, weu,
              "{'x-ms-isolation-tee':{'x-ms-attestation-type':'sevsnpvm',"
              "'x-ms-compliance-status':'azure-compliant-cvm'},"
              "'x-ms-azurevm-vmid':'b958dc88-e41d-47f1-8d20-e57b6b7e9825'}",
              false, "allOf[0].allOf[2]",
              "claim \"x-ms-azurevm-vmid\" is \"b958dc88-e41d-47f1-8d20-e57b6b7e9825\", want "
              "equals \"B958DC88-E41D-47F1-8D20-E57B6B7E9825\"");
    /* the flat claim names of example 1 do not reach the nested TEE object */
    decide_on(ms_cvm_example1, weu, tee, false, "anyOf[0].allOf[0]",
              "claim \"x-ms-attestation-type\" is absent, want equals \"sevsnpvm\"");

    const char *eus2 = "https://sharedeus2.eus2.attest.azure.net";
    const char *sgx = "{'x-ms-sgx-mrsigner':"
                      "'9fa48b1629bd246a1de3d38fb7df97f6554cd65d6b3b72e85b86848ae6b578ba',"
                      "'x-ms-sgx-mrenclave':'9fa48b1629bg677jfsaawed7772e85b86848ae6b578ba',"
                      "'x-ms-sgx-svn':%d}";
    char claims[512];
    snprintf(claims, sizeof(claims), sgx, 2);
    decide_on(ms_sgx_example3, eus2, claims, true, "anyOf[0]",
              "authority \"https://sharedeus2.eus2.attest.azure.net\": allOf of 3 conditions met");
    snprintf(claims, sizeof(claims), sgx, 1);
    decide_on(ms_sgx_example3, eus2, claims, false, "anyOf[0].allOf[2]",
              "claim \"x-ms-sgx-svn\" is 1, want greater 1");

    decide_on(ms_grammar_example, "my.attestation.com", "{'mr-signer':'0123456789'}", true,
              "anyOf[0]", "authority \"my.attestation.com\": allOf of 1 condition met");
    decide_on(ms_grammar_example, "my.attestation.com", "{'mr-signer':123456789}", false,
              "anyOf[0].allOf[0]",
              "claim \"mr-signer\" is 123456789 (a number), want equals \"0123456789\" (a string)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_table),         cmocka_unit_test(test_eval_table_coverage),
        cmocka_unit_test(test_eval_bad_args),      cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_json_errors),  cmocka_unit_test(test_caps),
        cmocka_unit_test(test_microsoft_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
