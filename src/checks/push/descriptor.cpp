// The push check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/push.hpp"

namespace vitals::checks {

schema::check_type describe_push() {
  using o = checks::push_options;
  schema::type_builder<o> b{
      "push", "A cron or batch job pushes /api/v1/push/<token> at least every period."};
  b.key("token", &o::token, "The secret in the job's URL: 16 to 128 of [A-Za-z0-9_-].",
        {.secret = true, .required = true});
  b.key("period", &o::period, "Fail when no push arrived for this long.", {.required = true});
  return {.spec = b.build([](o opts) { return checks::push(std::move(opts)); })};
}

}  // namespace vitals::checks
