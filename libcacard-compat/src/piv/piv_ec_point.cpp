#include "piv_ec_point.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>

namespace vscard::cacard::piv {

namespace {

struct GroupFree {
    void operator()(EC_GROUP* group) const { EC_GROUP_free(group); }
};
struct PointFree {
    void operator()(EC_POINT* point) const { EC_POINT_free(point); }
};
struct NumberFree {
    void operator()(BIGNUM* number) const { BN_clear_free(number); }
};
struct ContextFree {
    void operator()(BN_CTX* context) const { BN_CTX_free(context); }
};

} // namespace

Result<Bytes, std::string> ecPublicPoint(Algorithm algorithm, ByteView scalar)
{
    if (!isEcc(algorithm) || scalar.size() != eccFieldBytes(algorithm))
        return fail(std::string("not a scalar of the algorithm's curve"));
    const int curve = algorithm == Algorithm::EccP384 ? NID_secp384r1 : NID_X9_62_prime256v1;
    std::unique_ptr<EC_GROUP, GroupFree> group(EC_GROUP_new_by_curve_name(curve));
    std::unique_ptr<BN_CTX, ContextFree> context(BN_CTX_new());
    std::unique_ptr<BIGNUM, NumberFree> number(
        BN_bin2bn(scalar.data(), static_cast<int>(scalar.size()), nullptr));
    if (!group || !context || !number)
        return fail(std::string("out of memory"));
    const BIGNUM* order = EC_GROUP_get0_order(group.get());
    if (BN_is_zero(number.get()) || BN_cmp(number.get(), order) >= 0)
        return fail(std::string("the scalar is not in [1, n-1]"));
    std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(group.get()));
    if (!point ||
        EC_POINT_mul(group.get(), point.get(), number.get(), nullptr, nullptr, context.get()) != 1)
        return fail(std::string("cannot multiply the generator"));
    Bytes out(1 + 2 * scalar.size());
    if (EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(),
                           out.size(), context.get()) != out.size())
        return fail(std::string("cannot encode the point"));
    return out;
}

} // namespace vscard::cacard::piv
