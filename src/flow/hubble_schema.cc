#include "flow/hubble_schema.h"

namespace tw::flow::schema {

std::string LowerCamel(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '_' && i + 1 < name.size() && name[i + 1] >= 'a' && name[i + 1] <= 'z') {
      out += static_cast<char>(name[++i] - 'a' + 'A');
    } else {
      out += name[i];
    }
  }
  return out;
}

void KeyIndex::Add(absl::string_view name, size_t field, size_t alternative) {
  for (const std::string& key : {std::string(name), LowerCamel(name)}) {
    if (key.size() >= by_length_.size()) by_length_.resize(key.size() + 1);
    std::vector<Key>& bucket = by_length_[key.size()];
    bool present = false;
    for (const Key& k : bucket) present = present || k.name == key;
    if (!present) bucket.push_back(Key{key, field, alternative});
  }
}

}  // namespace tw::flow::schema
