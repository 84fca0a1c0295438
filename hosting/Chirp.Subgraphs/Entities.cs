using Chirp.Contracts;
using GraphQL.DataLoader;
using GraphQL.Federation;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;

namespace Chirp.Subgraphs;

/// <summary>
/// A <c>User</c> entity as a subgraph that does not own users holds one: only its key, so <c>{__typename: "User", id}</c>
/// is all such a subgraph returns and the gateway fetches the users subgraph's fields. It is also the representation
/// that such a subgraph's <c>_entities</c> receives.
/// </summary>
public sealed record UserReference
{
    /// <summary>The user id as it was sent (not checked: the users subgraph alone knows whether it exists).</summary>
    public string Id { get; init; } = "";

    /// <summary>The id as a UUID, when it is in the form Chirp writes ids (<see cref="ChirpIds"/>).</summary>
    public bool TryGetId(out Guid id) => ChirpIds.TryParse(Id, out id);
}

/// <summary>
/// What the gateway sends to <c>_entities</c> for an entity keyed by <c>id</c>: <c>{__typename, id}</c>.
/// </summary>
public sealed class EntityRepresentation
{
    /// <summary>The entity's id as the gateway sent it.</summary>
    public string? Id { get; set; }
}

/// <summary>
/// The one way a Chirp subgraph declares a federated entity (Apollo Federation <c>@key(fields: "id")</c>) and resolves
/// the representations the gateway sends to <c>_entities</c>. Every Chirp entity is keyed by its <c>id: ID!</c>.
/// </summary>
public static class Entities
{
    /// <summary>The key field of every Chirp entity.</summary>
    public const string KeyField = "id";

    /// <summary>
    /// Names <paramref name="type"/> <paramref name="name"/>, declares <c>@key(fields: "id")</c> and adds the key field
    /// <c>id: ID!</c>, read from the source by <paramref name="id"/>.
    /// </summary>
    public static void KeyedById<TSource>(this ObjectGraphType<TSource> type, string name, Func<TSource, string> id)
    {
        type.Name = name;
        type.Key(KeyField);
        type.Field<NonNullGraphType<IdGraphType>, string>(KeyField).Resolve(context => id(context.Source));
    }

    /// <summary>
    /// For an entity this subgraph owns: each representation is looked up with <typeparamref name="TLoader"/> (a scoped
    /// service), one query per batch; an unknown id, or one that is not in Chirp's form, resolves to null without an
    /// error (docs/architecture.md section 3).
    /// </summary>
    public static void ResolveOwnedById<TSource, TLoader>(this ObjectGraphType<TSource> type)
        where TLoader : BatchDataLoader<Guid, TSource> =>
        type.ResolveReference<EntityRepresentation, TSource>((context, representation) =>
            context.RequestServices!.GetRequiredService<TLoader>().LoadById(representation.Id)!);

    /// <summary>
    /// For the <c>User</c> entity in a subgraph that only adds fields to it: every representation is a valid reference,
    /// because this subgraph cannot tell whether the user exists (the users subgraph owns that).
    /// </summary>
    public static void ResolveAsUserReference(this ObjectGraphType<UserReference> type) =>
        type.ResolveReference<UserReference, UserReference>((_, reference) => reference);

    /// <summary>
    /// A batched lookup of the entity named by <paramref name="id"/>; an already known null, without a query, for text
    /// that is not an id in Chirp's form (<see cref="ChirpIds"/>).
    /// </summary>
    public static IDataLoaderResult<TValue?> LoadById<TValue>(this BatchDataLoader<Guid, TValue> loader, string? id) =>
        ChirpIds.TryParse(id, out var key) ? loader.Load(key) : loader.None;
}
